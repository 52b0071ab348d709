namespace VpsPanel.Features.Deployments;

public static class DeployFormat
{
    public static string Duration(TimeSpan? d) => d switch
    {
        null => "",
        { TotalSeconds: < 10 } t => $"{t.TotalSeconds:0.0} s",
        { TotalMinutes: < 1 } t => $"{t.TotalSeconds:0} s",
        { } t => $"{(int)t.TotalMinutes} min {t.Seconds} s",
    };
}

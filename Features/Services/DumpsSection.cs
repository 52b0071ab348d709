using VpsPanel.Features.Data;

namespace VpsPanel.Features.Services;

/// <summary>What the dumps card on a service's page shows (_ServiceDumps.cshtml), on /services/{name} and /services/{name}/dumps.</summary>
public sealed record DumpsSection(ServiceRow Service, string Schedule, long Keep, List<DumpRow> Dumps)
{
    public Dictionary<string, string> Errors { get; init; } = [];
    public string? Done { get; init; }

    public bool AnyRunning => Dumps.Any(d => d.Status == "running");

    public static DumpsSection Load(Db db, ServiceRow s, string? done = null)
    {
        using var c = db.Open();
        var schedule = ServiceDumps.ScheduleOf(c, s.Id);
        return new DumpsSection(s, schedule.Schedule, schedule.Keep, ServiceDumps.ListDumpsOfService(c, s.Id))
        {
            Done = done switch
            {
                "started" => "A dump is being made; it is listed below.",
                "restored" => "The dump was restored.",
                "schedule" => "The dump schedule was saved.",
                _ => null,
            },
        };
    }

    public static string Size(long? bytes) => bytes switch
    {
        null => "",
        < 1024 => $"{bytes} B",
        < 1024 * 1024 => $"{bytes / 1024.0:0.#} KiB",
        < 1024L * 1024 * 1024 => $"{bytes / 1024.0 / 1024:0.#} MiB",
        _ => $"{bytes / 1024.0 / 1024 / 1024:0.##} GiB",
    };
}

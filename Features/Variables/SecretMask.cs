namespace VpsPanel.Features.Variables;

/// <summary>
/// Replaces every occurrence of a secret value with ******** in text the panel shows or stores (build logs,
/// container logs). Longest secrets first, so a secret that contains another is masked whole.
/// Secrets shorter than <see cref="MinLength"/> are refused when saved: masking "ab" would garble every log.
/// </summary>
public sealed class SecretMask
{
    public const string Mask = "********";
    public const int MinLength = 4;

    public static readonly SecretMask None = new([]);

    readonly string[] _secrets;

    public SecretMask(IEnumerable<string> secrets) =>
        _secrets = secrets.Where(s => s.Length >= MinLength).Distinct(StringComparer.Ordinal).OrderByDescending(s => s.Length).ToArray();

    public bool IsEmpty => _secrets.Length == 0;

    public string Apply(string text)
    {
        foreach (var s in _secrets)
            if (text.Contains(s, StringComparison.Ordinal)) text = text.Replace(s, Mask, StringComparison.Ordinal);
        // A multi-line secret printed line by line still leaks its single lines: mask those too.
        foreach (var s in _secrets)
            if (s.Contains('\n'))
                foreach (var part in s.Split('\n'))
                    if (part.Length >= MinLength && text.Contains(part, StringComparison.Ordinal)) text = text.Replace(part, Mask, StringComparison.Ordinal);
        return text;
    }
}

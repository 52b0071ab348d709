using System.Text;
using System.Text.RegularExpressions;

namespace VpsPanel.Features.Variables;

/// <summary>
/// Reads and writes .env text: comments, blank lines, `export ` prefixes, unquoted, 'single-quoted' (literal)
/// and "double-quoted" values (with \n \t \" \\ escapes), both quoted kinds spanning lines. Every error names
/// its line, and nothing is half-parsed: the caller gets all the variables or all the errors.
/// </summary>
public static partial class DotEnv
{
    public const int MaxKeyLength = 256;
    public const int MaxValueLength = 64 * 1024;
    public const int MaxVariables = 500;

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex KeyPattern();

    public static bool IsValidKey(string key) => key.Length <= MaxKeyLength && KeyPattern().IsMatch(key);

    public static string? KeyProblem(string key) =>
        key.Length == 0 ? "the key is empty"
        : key.Length > MaxKeyLength ? $"the key is longer than {MaxKeyLength} characters"
        : !KeyPattern().IsMatch(key) ? $"\"{key}\" is not a valid key: use letters, digits and _, not starting with a digit"
        : null;

    public sealed record Entry(string Key, string Value, int Line);

    public sealed record ParseResult(IReadOnlyList<Entry> Entries, IReadOnlyList<string> Errors)
    {
        public bool Ok => Errors.Count == 0;
    }

    public static ParseResult Parse(string text)
    {
        var lines = text.Replace("\r\n", "\n").Split('\n');
        var entries = new List<Entry>();
        var errors = new List<string>();
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < lines.Length; i++)
        {
            var lineNo = i + 1;
            var line = lines[i].Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            if (line.StartsWith("export ", StringComparison.Ordinal)) line = line["export ".Length..].TrimStart();
            var eq = line.IndexOf('=');
            if (eq < 0)
            {
                errors.Add($"line {lineNo}: expected KEY=VALUE, found no '='");
                continue;
            }
            var key = line[..eq].Trim();
            var rest = line[(eq + 1)..].TrimStart();
            string value;
            if (rest.StartsWith('"') || rest.StartsWith('\''))
            {
                var quote = rest[0];
                var (closed, v, endLine, trailing) = ReadQuoted(lines, i, rest[1..], quote);
                if (!closed)
                {
                    errors.Add($"line {lineNo}: the {(quote == '"' ? "double" : "single")} quote opened here is never closed");
                    break;
                }
                var after = trailing.Trim();
                if (after.Length > 0 && !after.StartsWith('#'))
                    errors.Add($"line {endLine + 1}: unexpected text after the closing quote: {after}");
                value = v;
                i = endLine;
            }
            else
            {
                // An unquoted value ends at " #" (a comment); a # inside a word, as in colour=#fff, is kept.
                var hash = rest.IndexOf(" #", StringComparison.Ordinal);
                value = (hash >= 0 ? rest[..hash] : rest).TrimEnd();
            }
            if (KeyProblem(key) is { } kp)
            {
                errors.Add($"line {lineNo}: {kp}");
                continue;
            }
            if (value.Length > MaxValueLength)
            {
                errors.Add($"line {lineNo}: the value of {key} is longer than {MaxValueLength / 1024} KiB");
                continue;
            }
            if (seen.TryGetValue(key, out var first))
            {
                errors.Add($"line {lineNo}: {key} is already set on line {first}");
                continue;
            }
            seen[key] = lineNo;
            entries.Add(new Entry(key, value, lineNo));
        }
        if (entries.Count > MaxVariables) errors.Add($"at most {MaxVariables} variables, found {entries.Count}");
        return new ParseResult(errors.Count == 0 ? entries : [], errors);
    }

    static (bool Closed, string Value, int EndLine, string Trailing) ReadQuoted(string[] lines, int start, string firstRest, char quote)
    {
        var sb = new StringBuilder();
        var current = firstRest;
        for (var li = start; li < lines.Length; li++)
        {
            if (li > start)
            {
                sb.Append('\n');
                current = lines[li].TrimEnd('\r');
            }
            for (var k = 0; k < current.Length; k++)
            {
                var c = current[k];
                if (quote == '"' && c == '\\' && k + 1 < current.Length)
                {
                    var n = current[++k];
                    sb.Append(n switch { 'n' => '\n', 'r' => '\r', 't' => '\t', '"' => '"', '\\' => '\\', '$' => '$', _ => n });
                    if (n is not ('n' or 'r' or 't' or '"' or '\\' or '$')) sb.Insert(sb.Length - 1, '\\');
                    continue;
                }
                if (c == quote) return (true, sb.ToString(), li, current[(k + 1)..]);
                sb.Append(c);
            }
        }
        return (false, "", start, "");
    }

    /// <summary>Writes variables as .env text that <see cref="Parse"/> reads back to the same values.</summary>
    public static string Write(IEnumerable<(string Key, string Value)> vars)
    {
        var sb = new StringBuilder();
        foreach (var (key, value) in vars)
        {
            var plain = value.Length > 0 && value.All(c => char.IsAsciiLetterOrDigit(c) || "-_./:@,+%".Contains(c));
            sb.Append(key).Append('=');
            if (plain) sb.Append(value);
            else
            {
                sb.Append('"');
                foreach (var c in value)
                    sb.Append(c switch { '\n' => "\\n", '\r' => "\\r", '\t' => "\\t", '"' => "\\\"", '\\' => "\\\\", _ => c.ToString() });
                sb.Append('"');
            }
            sb.Append('\n');
        }
        return sb.ToString();
    }
}

using System.Text.RegularExpressions;

namespace VpsPanel.Features.Docker;

/// <summary>
/// Tells the builder's own bookkeeping from what a deploy's reader wants to see, one log line at a time. 22–38 lines of
/// an ordinary build were the builder talking about itself (digests, "DONE 0.1s", transfers, intermediate
/// containers); the step headers ("#5 [2/4] RUN npm ci", "Step 2/4 : RUN npm ci"), the app's own output and every
/// error stay visible. The page folds chatter behind a toggle; the stored log and the API keep every line (the API
/// leaves it out only on ?chatter=0).
/// Both builders' shapes, from real output of Debian's docker 20.10: BuildKit's --progress=plain and the classic
/// builder's stream through POST /build. A line with the log's timestamp in front is classified by what follows it.
/// </summary>
public static partial class BuildChatter
{
    [GeneratedRegex("""
        ^(?:
          \#\d+\ (?:
              sha256:[0-9a-f]{64}
            | \[internal\]\ .*
            | \[auth\]\ .*
            | transferring\ (?:dockerfile|context):.*
            | DONE\ [\d.]+s
            | CACHED
            | \.\.\.
            | exporting\ (?:to\ image|layers|config|manifest|manifest\ list|cache).*
            | writing\ image\ sha256:.*
            | naming\ to\ .*
            | resolve\ [^\s]+\ .*
            | (?:extracting|unpacking)\ .*
            | sending\ tarball.*
            | importing\ to\ docker.*
            | load\ metadata\ for\ .*
          )
          | \#\d+
          | \ --->\ .*
          | \ --->
          | Removing\ intermediate\ container\ [0-9a-f]+
          | Successfully\ built\ [0-9a-f]+
          | Successfully\ tagged\ .*
          | Sending\ build\ context\ to\ Docker\ daemon.*
          | [0-9a-f]{12}:\ (?:Pulling\ fs\ layer|Waiting|Verifying\ Checksum|Download\ complete|Pull\ complete|Already\ exists|Downloading.*|Extracting.*)
          | writing\ image\ sha256:[0-9a-f]+(?:\ done)?
          | naming\ to\ \S+(?:\ done)?
        )\s*$
        """, RegexOptions.IgnorePatternWhitespace | RegexOptions.CultureInvariant)]
    private static partial Regex Chatter();

    // The log writer's "2026-12-01T13:36:21.123Z " in front of every stored line.
    [GeneratedRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ", RegexOptions.CultureInvariant)]
    private static partial Regex Stamp();

    /// <summary>True for a line of builder bookkeeping (with or without the log's timestamp, colours ignored).</summary>
    public static bool IsChatter(string line)
    {
        var text = Shared.Ansi.Strip(WithoutStamp(line));
        return text.Length > 0 && Chatter().IsMatch(text);
    }

    /// <summary>The line without the log writer's timestamp.</summary>
    public static string WithoutStamp(string line)
    {
        var m = Stamp().Match(line);
        return m.Success ? line[m.Length..] : line;
    }

    /// <summary>Length of the log writer's timestamp prefix (with its space), 0 when there is none.</summary>
    public static int StampLength(string line) => Stamp().Match(line) is { Success: true } m ? m.Length : 0;
}

using System.Text.RegularExpressions;

namespace VpsPanel.Features.Docker;

/// <summary>
/// The deployment's error for a failed build step, naming the cause: "RUN npm ci failed (exit code 1): npm ERR!
/// missing script: build". The builders only say which command failed and its exit code; the cause is in the lines the
/// step printed just before (npm ERR!, "sh: foo: not found", a Python traceback's last line), which the reader of a
/// notification or of the deployment list would otherwise have to dig out of the log.
/// Both builders' wording, as Debian's docker 20.10 prints it:
///   BuildKit  "#6 ERROR: executor failed running [/bin/sh -c npm ci]: exit code: 1" (newer BuildKit: process "/bin/sh -c npm ci"
///             did not complete successfully: exit code: 1); the step's header is "#6 [4/4] RUN npm ci" and its output
///             lines are "#6 1.086 npm ERR! …".
///   classic   "The command '/bin/sh -c npm ci' returned a non-zero code: 1"; the step's header is "Step 4/4 : RUN npm ci",
///             followed by " ---> Running in …" and the output (stderr wrapped in ESC[91m … ESC[0m).
/// </summary>
public static partial class BuildFailure
{
    /// <summary>How much of the instruction and of the cause the error keeps: a notification's line, not the log.</summary>
    const int MaxInstructionChars = 120, MaxCauseChars = 300;

    [GeneratedRegex(@"executor failed running \[(?<cmd>.*)\]: exit code: (?<code>\d+)|process ""(?<cmd>.*)"" did not complete successfully: exit code: (?<code>\d+)|The command '(?<cmd>.*)' returned a non-zero code: (?<code>\d+)", RegexOptions.CultureInvariant)]
    private static partial Regex Failed();

    [GeneratedRegex(@"^#(?<n>\d+) ERROR: ", RegexOptions.CultureInvariant)]
    private static partial Regex BuildKitError();

    [GeneratedRegex(@"^Step \d+/\d+ : (?<instr>.*)$", RegexOptions.CultureInvariant)]
    private static partial Regex ClassicStep();

    // What an error line looks like in the tools people build with (npm, pip, sh, go, cargo, python, make, apt).
    [GeneratedRegex(@"\berr(or)?\b|ERR!|\bfatal\b|not found|No such file|[A-Z]\w*(Error|Exception)\b|\bfailed\b|cannot|can't|denied|\bundefined\b|panic:", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex ErrorLike();

    // Lines that say nothing about the cause: npm's pointers to its own log, bare "npm ERR!" separators, its codes.
    [GeneratedRegex(@"^npm (ERR!|error)\s*$|^npm (ERR!|error) (code|errno|syscall|path|dest) |complete log of this run|^npm (ERR!|error)\s+/\S+\.log$|^npm (ERR!|error) To see a list|^Traceback \(most recent call last\):$", RegexOptions.CultureInvariant)]
    private static partial Regex Boilerplate();

    /// <summary>
    /// The error to record for a failed build: "<instruction> failed (exit code N): <cause>" when
    /// <paramref name="builderError"/> is a step's non-zero exit and the step's header is among
    /// <paramref name="recentLines"/> (its output then gives the cause); the builder's own words (colours removed)
    /// when it is some other failure (a COPY of a missing file, a parse error).
    /// <paramref name="recentLines"/>: the build's last lines as logged (with or without the log's timestamp), oldest first.
    /// </summary>
    public static string Describe(IReadOnlyList<string> recentLines, string builderError) =>
        TryDescribe(recentLines, builderError) ?? Shared.Ansi.Strip(builderError).Trim();

    /// <summary>As <see cref="Describe"/>, but null when the error is not a step's non-zero exit.</summary>
    public static string? TryDescribe(IReadOnlyList<string> recentLines, string builderError)
    {
        var lines = recentLines.Select(l => Shared.Ansi.Strip(BuildChatter.WithoutStamp(l)).TrimEnd()).ToList();
        var error = Shared.Ansi.Strip(builderError);
        var failed = Failed().Match(error);
        if (!failed.Success)
        {
            // The builder's final message may be short ("failed to solve …"); the step's own ERROR line has the details.
            failed = lines.Select(l => Failed().Match(l)).LastOrDefault(m => m.Success) ?? failed;
            if (!failed.Success) return null;
        }
        var command = failed.Groups["cmd"].Value;
        var code = failed.Groups["code"].Value;
        var (instruction, output) = BuildKitStep(lines) ?? ClassicStep(lines, error) ?? (null, []);
        instruction ??= command.StartsWith("/bin/sh -c ", StringComparison.Ordinal) ? "RUN " + command["/bin/sh -c ".Length..] : "RUN " + command;
        var head = $"{Cut(instruction, MaxInstructionChars)} failed (exit code {code})";
        return Cause(output) is { } cause ? $"{head}: {Cut(cause, MaxCauseChars)}" : head;
    }

    /// <summary>BuildKit: the step "#N" that reported ERROR, its header's instruction and the output lines it printed.</summary>
    static (string?, List<string>)? BuildKitStep(List<string> lines)
    {
        var errorLine = lines.FindLastIndex(l => BuildKitError().IsMatch(l));
        if (errorLine < 0) return null;
        var prefix = "#" + BuildKitError().Match(lines[errorLine]).Groups["n"].Value + " ";
        string? instruction = null;
        var output = new List<string>();
        foreach (var l in lines.Take(errorLine))
        {
            if (!l.StartsWith(prefix, StringComparison.Ordinal)) continue;
            var rest = l[prefix.Length..];
            // "#6 [4/4] RUN npm ci", "#6 [build 2/5] RUN …": the header; "#6 1.086 text": output with its time.
            if (Regex.Match(rest, @"^\[[^\]]*\d+/\d+\] (.*)$") is { Success: true } h) instruction = h.Groups[1].Value;
            else if (Regex.Match(rest, @"^\d+\.\d+ ?(.*)$") is { Success: true } o) output.Add(o.Groups[1].Value);
        }
        return (instruction, output);
    }

    /// <summary>Classic builder: the last "Step x/y : …" and the output after it (not the builder's own lines).</summary>
    static (string?, List<string>)? ClassicStep(List<string> lines, string error)
    {
        var step = lines.FindLastIndex(l => ClassicStep().IsMatch(l));
        if (step < 0) return null;
        var output = lines.Skip(step + 1)
            .Where(l => !BuildChatter.IsChatter(l) && !Failed().IsMatch(l) && !l.StartsWith("ERROR: ", StringComparison.Ordinal))
            .ToList();
        return (ClassicStep().Match(lines[step]).Groups["instr"].Value, output);
    }

    /// <summary>
    /// The line that names the cause: npm puts it first in its "npm ERR!" block, everything else last, so the first
    /// meaningful npm line, else the last line that reads like an error, else the last line.
    /// </summary>
    static string? Cause(List<string> output)
    {
        var meaningful = output.Select(l => l.Trim()).Where(l => l.Length > 0 && !Boilerplate().IsMatch(l)).ToList();
        if (meaningful.Count == 0) return null;
        var npm = meaningful.FindLastIndex(l => l.StartsWith("npm ERR!", StringComparison.Ordinal) || l.StartsWith("npm error", StringComparison.Ordinal));
        if (npm >= 0)
        {
            var first = npm;
            while (first > 0 && (meaningful[first - 1].StartsWith("npm ERR!", StringComparison.Ordinal) || meaningful[first - 1].StartsWith("npm error", StringComparison.Ordinal))) first--;
            return meaningful[first];
        }
        return meaningful.LastOrDefault(l => ErrorLike().IsMatch(l)) ?? meaningful[^1];
    }

    static string Cut(string s, int max) => s.Length <= max ? s : s[..(max - 1)] + "…";
}

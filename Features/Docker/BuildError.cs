using System.Text.RegularExpressions;

namespace VpsPanel.Features.Docker;

/// <summary>
/// The one-line error of a failed BuildKit build, from the CLI's last lines: its own final line as a rule, reworded
/// where it names something the operator set or cannot see (a `# syntax=` frontend this server cannot pull, a
/// build target that is not a stage, a step stopped at the build memory cap).
/// </summary>
public static partial class BuildError
{
    [GeneratedRegex(@"^#\s*syntax\s*=\s*(\S+)\s*$", RegexOptions.IgnoreCase)]
    private static partial Regex SyntaxDirective();

    [GeneratedRegex(@"^#\s*[A-Za-z]+\s*=")]
    private static partial Regex AnyDirective();

    /// <summary>
    /// The frontend image a `# syntax=` parser directive asks for, and its line; null when there is none. Directives
    /// are only read at the very top of the file (before any other comment, blank line or instruction), as BuildKit does.
    /// </summary>
    public static (string Image, int Line)? SyntaxOf(string dockerfileText)
    {
        var lines = dockerfileText.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (SyntaxDirective().Match(line) is { Success: true } m) return (m.Groups[1].Value, i + 1);
            if (!AnyDirective().IsMatch(line)) return null;
        }
        return null;
    }

    /// <summary>Whether the build failed because BuildKit could not resolve the `# syntax=` frontend image.</summary>
    public static bool FrontendUnresolved(IReadOnlyList<string> output) =>
        (output.LastOrDefault(l => l.Trim() != "")?.Contains("frontend gateway") ?? false) || output.Any(l => l.Contains("resolve image config for") && l.Contains("ERROR"));

    static string? DockerfileText(BuildRequest r)
    {
        try { return File.ReadAllText(Path.Combine(r.ContextDir, r.Dockerfile)); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>The deployment's error for a failed build. <paramref name="capped"/>: the build ran under the memory cap, so a step killed (137) ran out of it.</summary>
    public static string Explain(IReadOnlyList<string> output, BuildRequest r, bool killedByCap, int exitCode, bool capped = false)
    {
        var last = output.LastOrDefault(l => l.Trim() != "")?.Trim() ?? $"the docker CLI exited with code {exitCode} and said nothing";
        if (killedByCap || (last.Contains("exit code: 137") && r.MemoryBytes > 0 && capped))
            return $"a build step ran out of memory: it was stopped at the build memory cap of {r.MemoryBytes / (1024 * 1024)} MiB (setting Deploy:BuildMemoryMb). Docker said: {last}";
        if (r.Target is { Length: > 0 } target && last.Contains($"target stage {target} could not be found"))
            return $"the build target \"{target}\" (project setting) does not exist: the Dockerfile has no stage named \"{target}\" (FROM … AS {target})";
        if (FrontendUnresolved(output))
        {
            if (DockerfileText(r) is { } text && SyntaxOf(text) is { } syntax)
                return $"the Dockerfile asks for the frontend {syntax.Image} (# syntax= line {syntax.Line}); this server cannot pull it and has no local image of that name: {last}. " +
                    "Remove the line to build with the engine's built-in Dockerfile frontend, or load that image into the engine (docker load / docker tag).";
        }
        if (last.Contains("dockerfile parse error") && DockerfileText(r) is { } df && df.Contains("<<"))
            return $"docker build failed: {last}. The Dockerfile seems to use a heredoc (<<); this engine's built-in Dockerfile frontend " +
                "(Docker 20.10) does not support heredocs: write the commands on RUN lines (joined with && and \\), or COPY a script";
        // A failed RUN step: name the step, its exit code and the cause it printed (BuildFailure), not only BuildKit's last line.
        if (BuildFailure.TryDescribe(output, last) is { } step) return step;
        return $"docker build failed: {last}";
    }
}

using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace VpsPanel.Features.Docker;

/// <summary>
/// Issue 14: Dockerfiles as `docker init` writes them build on this engine too. The engine's built-in Dockerfile
/// frontend (Docker 20.10) parses no heredocs, and a `# syntax=docker/dockerfile:1` line makes BuildKit pull that
/// frontend, which a server without registry access cannot. When a build fails for one of those two reasons, the
/// panel builds once more from a rewritten copy: the official frontend's directive removed, and each heredoc turned
/// into what BuildKit would have run (see <see cref="Rewrite"/>). Whatever cannot be translated with the same meaning
/// keeps the build's clear error. The copy and the heredoc files go into the build's own checkout under panel-owned
/// names, never into the cached repository.
/// </summary>
public static partial class DockerfileCompat
{
    public const string FileName = ".vpspanel-compat.Dockerfile";
    public const string HeredocDir = ".vpspanel-heredoc";

    /// <summary>The official frontend as `docker init` and Docker's docs write it: docker/dockerfile:1, 1.x, 1.x.y, optionally -labs.</summary>
    [GeneratedRegex(@"^(docker\.io/)?docker/dockerfile:1(\.\d+){0,2}(-labs)?$")]
    private static partial Regex OfficialFrontend();

    /// <summary>A heredoc word: `<<EOF`, `<<-EOF`, `<<"EOF"`, `<<'EOF'`, standing alone between spaces.</summary>
    [GeneratedRegex(@"(?<=^|\s)<<(-?)([""']?)([A-Za-z_][A-Za-z0-9_.-]*)\2(?=\s|$)")]
    private static partial Regex HeredocWord();

    [GeneratedRegex(@"^#\s*escape\s*=\s*(\S+)\s*$", RegexOptions.IgnoreCase)]
    private static partial Regex EscapeDirective();

    public static bool IsOfficialFrontend(string image) => OfficialFrontend().IsMatch(image);

    /// <summary>
    /// After a failed BuildKit build (<paramref name="output"/> its last lines): the request to build once more with a
    /// rewritten Dockerfile, or null when the failure is not one this fixes (the build's own error stands). The official
    /// frontend that cannot be pulled, with a heredoc the panel cannot translate, fails here with both reasons.
    /// </summary>
    public static BuildRequest? Retry(BuildRequest r, IReadOnlyList<string> output, Action<string> log)
    {
        if (r.Dockerfile == FileName) return null;
        string text;
        try { text = File.ReadAllText(Path.Combine(r.ContextDir, r.Dockerfile)); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
        var syntax = BuildError.SyntaxOf(text);
        var unpullable = BuildError.FrontendUnresolved(output) && syntax is { } s && IsOfficialFrontend(s.Image);
        var heredocParseError = syntax is null && output.Any(l => l.Contains("dockerfile parse error")) && HeredocWord().IsMatch(text);
        if (!unpullable && !heredocParseError) return null;
        var (rewritten, problem) = Rewrite(text, dropSyntax: unpullable);
        if (rewritten is null)
        {
            if (unpullable)
                throw new DockerException($"the Dockerfile asks for the frontend {syntax!.Value.Image} (# syntax= line {syntax.Value.Line}), which this server cannot pull; " +
                    $"the panel builds such Dockerfiles with the engine's built-in Dockerfile frontend, but cannot translate {problem}. " +
                    "Write that part without a heredoc, or load the frontend image into the engine (docker load / docker tag).");
            log($"the engine's built-in Dockerfile frontend has no heredocs, and the panel cannot translate {problem}");
            return null;
        }
        log(unpullable
            ? $"the frontend {syntax!.Value.Image} could not be pulled; building with the engine's built-in Dockerfile frontend" +
                (rewritten.Dockerfile == text ? "" : " (heredocs rewritten as BuildKit runs them)")
            : "the engine's built-in Dockerfile frontend has no heredocs; building again with them rewritten as BuildKit runs them");
        foreach (var line in rewritten.Dockerfile.TrimEnd('\n').Split('\n')) log("  | " + line);
        var root = BuildContext.RealPath(r.ContextDir) ?? throw new DockerException("the build context directory does not exist");
        WriteFresh(Path.Combine(root, FileName), rewritten.Dockerfile);
        Remove(Path.Combine(root, HeredocDir));
        foreach (var (path, content) in rewritten.Files)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(root, path))!);
            WriteFresh(Path.Combine(root, path), content);
        }
        return r with { Dockerfile = FileName };
    }

    /// <summary>A committed file, link or directory of a panel-owned name is removed first, so a write never follows a link out of the checkout.</summary>
    static void Remove(string path)
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is not null || File.Exists(path)) File.Delete(path);
        else if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
    }

    static void WriteFresh(string path, string content)
    {
        Remove(path);
        // 0644, the mode BuildKit gives a heredoc file (the tar walk sends the mode on disk).
        using var stream = new FileStream(path, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead });
        stream.Write(Encoding.UTF8.GetBytes(content));
    }

    /// <summary>A Dockerfile rewritten for the built-in frontend: its text and the heredoc files COPY reads (paths relative to the context).</summary>
    public sealed record Rewritten(string Dockerfile, List<(string Path, string Content)> Files);

    /// <summary>
    /// The Dockerfile for the built-in frontend, or the reason it cannot be written with the same meaning.
    /// <paramref name="dropSyntax"/> removes the `# syntax=` directive line. Heredocs, as Docker's Dockerfile reference
    /// and BuildKit's dockerfile2llb define them:
    /// - `RUN [flags] &lt;&lt;EOF` (the heredoc is the whole command): the body is the script the shell in effect runs,
    ///   i.e. SHELL + [body]; written as the JSON form with that shell, flags (--mount …) kept. A body that starts with
    ///   `#!` is run as a file by BuildKit: not translated.
    /// - `RUN [flags] cmd &lt;&lt;EOF …` (a heredoc inside a command): BuildKit hands the command line and the bodies, each
    ///   followed by its delimiter, to the shell, which reads the heredocs itself; written the same way.
    /// - `COPY [flags] &lt;&lt;A [&lt;&lt;B] dest`: each body becomes a file named A (B) in the context, copied instead. An
    ///   unquoted delimiter lets BuildKit expand variables in the body, so a body with `$` or `\` is not translated.
    /// - ADD with heredocs, a custom `# escape=`, an unparseable SHELL: not translated.
    /// </summary>
    public static (Rewritten? Result, string? Problem) Rewrite(string text, bool dropSyntax)
    {
        var lines = text.Replace("\r\n", "\n").Split('\n').ToList();
        // Problems name the line as it is in the repository's Dockerfile, above the removed directive included.
        var removed = 0;
        if (dropSyntax && BuildError.SyntaxOf(text) is { } syntax) { lines.RemoveAt(syntax.Line - 1); removed = 1; }
        for (var i = 0; i < lines.Count && lines[i].TrimStart().StartsWith('#'); i++)
            if (EscapeDirective().Match(lines[i].Trim()) is { Success: true } m && m.Groups[1].Value != "\\" && text.Contains("<<"))
                return (null, "it sets `# escape=`, which the panel does not translate heredocs under");

        string[] defaultShell = ["/bin/sh", "-c"];
        var stageShells = new Dictionary<string, string[]?>(StringComparer.OrdinalIgnoreCase);
        string[]? currentShell = defaultShell;
        string? currentStage = null;
        var output = new List<string>();
        var files = new List<(string, string)>();
        var i2 = 0;
        while (i2 < lines.Count)
        {
            var line = lines[i2];
            var trimmed = line.Trim();
            if (trimmed == "" || trimmed.StartsWith('#')) { output.Add(line); i2++; continue; }
            // The logical line: physical lines joined where one ends with the escape character (comment lines inside are dropped, as the parser does).
            var start = i2;
            var lineNo = start + 1 + removed;
            var logical = new StringBuilder();
            while (true)
            {
                var l = lines[i2].TrimEnd();
                i2++;
                if (l.TrimStart().StartsWith('#') && logical.Length > 0) { if (i2 >= lines.Count) break; continue; }
                if (l.EndsWith('\\') && i2 < lines.Count) { logical.Append(l[..^1]); continue; }
                logical.Append(l);
                break;
            }
            var instruction = logical.ToString().Trim();
            var keyword = instruction.Split((char[]?)null, 2, StringSplitOptions.RemoveEmptyEntries)[0].ToUpperInvariant();
            var rest = instruction.Length > keyword.Length ? instruction[keyword.Length..].Trim() : "";
            if (keyword == "FROM")
            {
                var words = rest.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Where(w => !w.StartsWith("--")).ToList();
                // A stage built FROM an earlier stage keeps its SHELL; any other base starts with the default.
                currentShell = words.Count > 0 && stageShells.TryGetValue(words[0], out var inherited) ? inherited : defaultShell;
                currentStage = words.Count >= 3 && words[1].Equals("AS", StringComparison.OrdinalIgnoreCase) ? words[2] : null;
                if (currentStage is not null) stageShells[currentStage] = currentShell;
                output.AddRange(lines.GetRange(start, i2 - start));
                continue;
            }
            if (keyword == "SHELL")
            {
                try { currentShell = JsonSerializer.Deserialize<string[]>(rest) is { Length: > 0 } s ? s : null; }
                catch (JsonException) { currentShell = null; }
                if (currentStage is not null) stageShells[currentStage] = currentShell;
                output.AddRange(lines.GetRange(start, i2 - start));
                continue;
            }
            var heredocs = HeredocWord().Matches(rest);
            if (heredocs.Count == 0 || keyword is not ("RUN" or "COPY" or "ADD"))
            {
                output.AddRange(lines.GetRange(start, i2 - start));
                continue;
            }
            if (keyword == "ADD") return (null, $"line {lineNo}: ADD with a heredoc (use COPY <<EOF)");
            // The bodies follow the instruction, in the order of their heredoc words.
            var bodies = new List<(string Name, bool Quoted, bool Chomp, string Data)>();
            foreach (Match h in heredocs)
            {
                var name = h.Groups[3].Value;
                var chomp = h.Groups[1].Value == "-";
                var data = new StringBuilder();
                var closed = false;
                while (i2 < lines.Count)
                {
                    var body = lines[i2++];
                    if (chomp) body = body.TrimStart('\t');
                    if (body == name) { closed = true; break; }
                    data.Append(body).Append('\n');
                }
                if (!closed) return (null, $"line {lineNo}: the heredoc {name} is never closed");
                bodies.Add((name, h.Groups[2].Value != "", chomp, data.ToString()));
            }
            // Flags (--mount=…, --chown=…) come first and are kept as they are.
            var flagsEnd = FlagsEnd(rest);
            var flags = rest[..flagsEnd].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            var afterFlags = rest[flagsEnd..];
            var words2 = afterFlags.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).ToList();
            var prefix = flags.Length == 0 ? keyword : keyword + " " + string.Join(' ', flags);
            if (keyword == "RUN")
            {
                if (currentShell is null) return (null, $"line {lineNo}: a heredoc RUN after a SHELL the panel cannot read");
                string script;
                if (bodies.Count == 1 && afterFlags.Trim() == heredocs[0].Value)
                {
                    if (bodies[0].Data.StartsWith("#!")) return (null, $"line {lineNo}: a heredoc script with #! (BuildKit runs it as a file)");
                    script = bodies[0].Data;
                }
                else
                {
                    script = afterFlags;
                    foreach (var b in bodies) script += "\n" + b.Data + b.Name;
                }
                output.Add(prefix + " " + JsonSerializer.Serialize(currentShell.Append(script).ToArray(), JsonOptions));
            }
            else
            {
                if (flags.Any(f => f.StartsWith("--from", StringComparison.OrdinalIgnoreCase))) return (null, $"line {lineNo}: COPY --from with a heredoc");
                if (words2.Count != bodies.Count + 1 || words2.Take(bodies.Count).Where((w, k) => w != heredocs[k].Value).Any())
                    return (null, $"line {lineNo}: COPY that mixes heredocs with other sources");
                var sources = new List<string>();
                foreach (var b in bodies)
                {
                    if (!b.Quoted && (b.Data.Contains('$') || b.Data.Contains('\\')))
                        return (null, $"line {lineNo}: COPY <<{b.Name} whose body has $ or \\ (BuildKit would expand it; quote the delimiter, <<\"{b.Name}\", to copy it as written)");
                    var path = $"{HeredocDir}/{files.Count}/{b.Name}";
                    files.Add((path, b.Data));
                    sources.Add(path);
                }
                output.Add(prefix + " " + string.Join(' ', sources) + " " + words2[^1]);
            }
        }
        return (new Rewritten(string.Join('\n', output), files), null);
    }

    /// <summary>Where the words that start with -- at the beginning of <paramref name="rest"/> end.</summary>
    static int FlagsEnd(string rest)
    {
        var k = 0;
        while (true)
        {
            while (k < rest.Length && char.IsWhiteSpace(rest[k])) k++;
            if (k + 1 < rest.Length && rest[k] == '-' && rest[k + 1] == '-')
            {
                while (k < rest.Length && !char.IsWhiteSpace(rest[k])) k++;
                continue;
            }
            return k;
        }
    }

    static readonly JsonSerializerOptions JsonOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}

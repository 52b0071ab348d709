using System.IO.Compression;
using VpsPanel.Features.Shared;

namespace VpsPanel.Features.Docker;

/// <summary>What one image build needs, whichever builder runs it.</summary>
public sealed record BuildRequest(
    string ContextDir, string Checkout, string? DataDir, string Dockerfile, string Tag,
    IReadOnlyDictionary<string, string> Labels, IReadOnlyDictionary<string, string> BuildArgs,
    IReadOnlyDictionary<string, string> Secrets, string? Target, long MemoryBytes);

/// <summary>
/// Issue 14, finding 1: builds go through BuildKit. The docker CLI does the BuildKit client's work (the session that
/// serves secrets, the progress protocol) that POST /build?version=2 would leave to us, so the panel runs Debian's
/// CLI (`DOCKER_BUILDKIT=1 docker build --progress=plain … -`) with an argument list, against the panel's socket,
/// and feeds it OUR tar of the context on stdin (<see cref="BuildContext"/>: links stay links, nothing outside the
/// checkout, nothing of the data dir), or, where that is proven to send the same files, the checked directory for the
/// CLI to walk (links sent as links; faster, issue 20: see Walk below).
/// Labels become `--label`, which BuildKit writes into the image config: no build step, unlike the classic builder's
/// LABEL steps (finding 6). Secret variables are offered as `RUN --mount=type=secret,id=NAME` secrets from files in a
/// private directory that is removed after the build, so they never reach the image or its history.
/// The CLI runs in a process group of its own (Proc): a timeout or a cancel kills it, the engine then ends the build,
/// and BuildKit runs steps without containers, so nothing is left behind.
/// </summary>
public static class BuildKitBuild
{
    /// <summary>Environment names the CLI itself reads: a build argument of that name is passed by value instead.</summary>
    static bool CliReads(string name) => name.StartsWith("DOCKER_", StringComparison.Ordinal) || name.StartsWith("BUILDKIT_", StringComparison.Ordinal)
        || name is "PATH" or "HOME" or "LC_ALL" or "HTTP_PROXY" or "HTTPS_PROXY" or "NO_PROXY" or "http_proxy" or "https_proxy" or "no_proxy";

    /// <summary>
    /// The arguments of `docker build`; values of build arguments and secrets are never among them (see <see cref="CliReads"/>).
    /// The context is our tar on stdin, or with <paramref name="walk"/> a directory for the CLI and the Dockerfile's own copy.
    /// </summary>
    public static List<string> Arguments(BuildRequest r, string secretsDir, (string ContextDir, string Dockerfile)? walk = null)
    {
        var args = new List<string> { "build", "--progress=plain", "--tag", r.Tag, "--file", walk?.Dockerfile ?? r.Dockerfile };
        foreach (var (k, v) in r.Labels) args.AddRange(["--label", $"{k}={v}"]);
        if (r.Target is { Length: > 0 } target) args.AddRange(["--target", target]);
        foreach (var (k, v) in r.BuildArgs) args.AddRange(["--build-arg", CliReads(k) ? $"{k}={v}" : k]);
        foreach (var k in r.Secrets.Keys) args.AddRange(["--secret", $"id={k},src={Path.Combine(secretsDir, k)}"]);
        args.Add(walk?.ContextDir ?? "-");
        return args;
    }

    public static async Task BuildAsync(string dockerCli, DockerEngine engine, BuildRequest r, BuildMemoryCap.Host memoryCap, Action<string> onLog, CancellationToken ct)
    {
        if (!File.Exists(dockerCli))
            throw new DockerException($"the docker CLI {dockerCli} (setting Build:DockerCli) does not exist; install Debian's docker.io (or docker-ce-cli), or set Build:Builder=classic");
        BuildContext.Check(r.ContextDir, r.Checkout, r.DataDir);
        var work = Directory.CreateTempSubdirectory("vpspanel-build-");
        try
        {
            // CreateTempSubdirectory makes it 0700; the files inside are 0600 on top.
            foreach (var (k, v) in r.Secrets)
            {
                using var file = new FileStream(Path.Combine(work.FullName, k), new FileStreamOptions
                    { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite });
                file.Write(System.Text.Encoding.UTF8.GetBytes(v));
            }
            var env = new Dictionary<string, string>
            {
                ["DOCKER_BUILDKIT"] = "1",
                ["DOCKER_HOST"] = "unix://" + engine.SocketPath,
                // Not the service user's ~/.docker: no contexts, credential helpers or plugins of someone else's making.
                ["DOCKER_CONFIG"] = Path.Combine(work.FullName, "config"),
            };
            foreach (var (k, v) in r.BuildArgs) if (!CliReads(k)) env[k] = v;

            var output = new List<string>();
            void Line(string line)
            {
                lock (output)
                {
                    output.Add(line);
                    if (output.Count > 200) output.RemoveAt(0);
                    onLog(line);
                }
            }
            Exception? tarError = null;
            async Task WriteContext(Stream stdin, CancellationToken token)
            {
                // Gzip without compression: the CLI tells a tar context from a Dockerfile on stdin by parsing the first
                // 1 KiB as a tar header, and our pax entries start with an extended header that needs more than that
                // ("ambiguous Dockerfile source"); a gzip header is recognised at once and costs no CPU at level 0.
                try
                {
                    await using var gzip = new GZipStream(stdin, CompressionLevel.NoCompression, leaveOpen: true);
                    await BuildContext.WriteTarAsync(r.ContextDir, r.Checkout, r.DataDir, gzip, token, r.Dockerfile);
                }
                catch (Exception e) when (e is not (IOException or OperationCanceledException)) { tarError = e; }
            }

            await using var cap = BuildMemoryCap.Watch(r.MemoryBytes, memoryCap);
            if (cap.Problem is { } problem) onLog("WARNING: " + problem);
            // A Dockerfile that .dockerignore excludes: docker build reads it, yet leaves it out of what COPY sees. From
            // an uploaded context BuildKit on this engine (20.10) can only do one of the two: it reads the Dockerfile
            // from the upload and applies no ignore rules to it (measured: with the Dockerfile in the tar, COPY . copies
            // it; without, "failed to read dockerfile"). So for this case alone the CLI walks the context directory
            // itself, as docker build does (it applies .dockerignore; links are sent as links, never followed; the
            // directory was checked above to be inside the checkout and to hold no panel data), and reads the
            // Dockerfile from a copy of its own.
            // Issue 20: where the CLI's walk sends the same files as our tar (BuildContext.CliWalkSendsTheSame: no ignore
            // file, or a plain .dockerignore without exceptions), it walks the directory too: measured with the tiny app,
            // 0.30 s against 0.50 s for the same tar on stdin, the upload's cost being the engine's, not our packer's.
            (string ContextDir, string Dockerfile)? Walk()
            {
                if (!BuildContext.DockerignoreExcludesDockerfile(r.ContextDir, r.Dockerfile, r.Checkout))
                {
                    if (!BuildContext.CliWalkSendsTheSame(r.ContextDir, r.Dockerfile, r.Checkout)) return null;
                    var context = BuildContext.Check(r.ContextDir, r.Checkout, r.DataDir);
                    // Absolute: the CLI reads a relative --file from its working directory, not from the context.
                    return (context, Path.Combine(context, r.Dockerfile));
                }
                var root = BuildContext.Check(r.ContextDir, r.Checkout, r.DataDir);
                var own = Path.Combine(Directory.CreateDirectory(Path.Combine(work.FullName, "dockerfile")).FullName, "Dockerfile");
                File.Copy(Path.Combine(root, r.Dockerfile), own, overwrite: true);
                onLog($".dockerignore excludes {r.Dockerfile}: the docker CLI reads the context directory itself, so the Dockerfile stays out of the image as with docker build");
                return (root, own);
            }

            while (true)
            {
                var walk = Walk();
                var result = await Proc.RunAsync(dockerCli, Arguments(r, work.FullName, walk), Timeout.InfiniteTimeSpan, ct, env: env, onLine: Line,
                    writeStdin: walk is null ? WriteContext : null);
                if (tarError is not null) throw tarError;
                if (result.Ok) return;
                List<string> lines;
                lock (output) { lines = [.. output]; output.Clear(); }
                // A `# syntax=docker/dockerfile:1` this server cannot pull, or heredocs: once more, rewritten (DockerfileCompat).
                if (DockerfileCompat.Retry(r, lines, onLog) is { } again) { r = again; continue; }
                // The CLI words an engine that died mid-build in many ways ("EOF", "connection reset", "unexpected EOF"):
                // when the engine no longer answers, say so as the Engine API path does (DockerErrors.LostConnection).
                if (!await engine.AnswersAsync(TimeSpan.FromSeconds(3)))
                    throw new IOException($"the docker CLI exited with code {result.ExitCode} ({lines.LastOrDefault(l => l.Trim() != "")?.Trim() ?? "no output"}) and the engine no longer answers",
                        new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.ConnectionRefused));
                throw new DockerException(BuildError.Explain(lines, r, cap.StepsKilledByCap > 0, result.ExitCode, cap.Capped));
            }
        }
        finally
        {
            try { work.Delete(recursive: true); } catch (IOException) { }
        }
    }
}

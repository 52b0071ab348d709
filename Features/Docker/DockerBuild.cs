using System.IO.Pipelines;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace VpsPanel.Features.Docker;

/// <summary>
/// docker build through the library (POST /build) with two things it does not do: the context is our own tar walk
/// (<see cref="BuildContext"/>; the library takes any tar stream), and its progress messages, which carry output as
/// the engine read it (a line can come in pieces), are joined into whole lines before anything masks or logs them.
/// </summary>
public static class DockerBuild
{
    /// <summary>
    /// Builds an image from a directory. The tar context is streamed through a pipe as it is written, never held
    /// in memory; it is packed by <see cref="BuildContext"/> (links stay links, nothing outside <paramref name="checkout"/>,
    /// default the context itself, and nothing of <paramref name="dataDir"/> is read).
    /// Each progress line is handed to <paramref name="onLog"/>; an "error" line fails the build.
    /// </summary>
    public static async Task BuildAsync(this DockerClient docker, string contextDir, string dockerfile, string tag,
        IReadOnlyDictionary<string, string> labels, IReadOnlyDictionary<string, string>? buildArgs, long memoryBytes,
        Action<string> onLog, CancellationToken ct, string? checkout = null, string? dataDir = null, IReadOnlyList<string>? extraHosts = null)
    {
        checkout ??= contextDir;
        BuildContext.Check(contextDir, checkout, dataDir);
        BuildContext.LoadIgnore(contextDir, dockerfile, checkout);
        var parameters = new ImageBuildParameters
        {
            Tags = [tag],
            Dockerfile = dockerfile,
            Remove = true,
            ForceRemove = true,
            Labels = labels.ToDictionary(),
            BuildArgs = buildArgs is { Count: > 0 } ? buildArgs.ToDictionary() : null,
            // The classic builder gives its intermediate (RUN) containers none of the labels; these it does give them (BuildContainers).
            ExtraHosts = extraHosts is { Count: > 0 } ? extraHosts.ToList() : null,
        };
        if (memoryBytes > 0)
        {
            // memswap equal to memory: no swap on top, so a runaway build is stopped instead of thrashing the host.
            parameters.Memory = memoryBytes;
            parameters.MemorySwap = memoryBytes;
        }

        var pipe = new Pipe();
        var writer = Task.Run(async () =>
        {
            try
            {
                await using var w = pipe.Writer.AsStream();
                await BuildContext.WriteTarAsync(contextDir, checkout, dataDir, w, ct, dockerfile);
                await pipe.Writer.CompleteAsync();
            }
            catch (Exception e)
            {
                await pipe.Writer.CompleteAsync(e);
            }
        }, ct);

        var progress = new BuildProgress(onLog);
        await docker.Images.BuildImageFromDockerfileAsync(parameters, pipe.Reader.AsStream(), null, null, progress, ct);
        progress.Complete();
        await writer;
        // A failed step is named with the cause its output showed (BuildFailure); any other failure in Docker's words.
        if (progress.Error is { } error) throw new DockerException(BuildFailure.TryDescribe(progress.Recent, error) ?? $"docker build failed: {Shared.Ansi.Strip(error)}");
    }
}

/// <summary>
/// The build's progress messages as log lines. Called by the library as each message arrives (synchronously, unlike
/// <see cref="Progress{T}"/>, which would post to the thread pool and could reorder lines). An "error" message is kept
/// and fails the build once the stream ends.
/// </summary>
sealed class BuildProgress : IProgress<JSONMessage>
{
    /// <summary>How many of the last lines are kept for <see cref="BuildFailure"/>: a failing step's output is a few lines before the error.</summary>
    const int RecentLines = 200;

    readonly Action<string> _onLog;
    readonly BuildOutputLines _output;
    readonly Queue<string> _recent = new();

    public BuildProgress(Action<string> onLog)
    {
        _onLog = line =>
        {
            if (_recent.Count == RecentLines) _recent.Dequeue();
            _recent.Enqueue(line);
            onLog(line);
        };
        _output = new(_onLog);
    }

    /// <summary>The build's last lines, oldest first.</summary>
    public IReadOnlyList<string> Recent => _recent.ToList();

    public string? Error { get; private set; }

    public void Report(JSONMessage m)
    {
        if (m.Stream is { } s)
        {
            _output.Add(s);
            return;
        }
        _output.Flush();
        if (m.Status is { } status) _onLog(status);
        if (m.Error?.Message is { } err)
        {
            Error = err.Trim();
            _onLog("ERROR: " + Error);
        }
    }

    public void Complete() => _output.Flush();
}

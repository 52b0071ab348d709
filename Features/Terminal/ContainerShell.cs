using System.Net;
using Docker.DotNet;
using Docker.DotNet.Models;
using VpsPanel.Features.Docker;

namespace VpsPanel.Features.Terminal;

/// <summary>
/// A shell inside a running container: which one the image has, and an exec of it with a TTY.
/// Through Docker.DotNet.Enhanced's exec API: StartContainerExecAsync hijacks the connection (POST /exec/{id}/start with
/// Upgrade: tcp, answered 101) and returns a MultiplexedStream over it that both reads and writes; with Tty=true it
/// passes bytes through unframed. So no raw socket code of our own is needed here (unlike container logs, where the
/// library's stream hides frame boundaries we need).
/// </summary>
public static class ContainerShell
{
    /// <summary>A shell found in the image: the command to run.</summary>
    public sealed record Shell(string Name, string[] Command);

    /// <summary>
    /// Tried in order. Absolute paths, checked with the engine's file stat (HEAD /containers/{id}/archive), so nothing
    /// runs in the container to find out: a FROM scratch image has no `test` or `which` to ask. busybox counts as a
    /// shell (`busybox sh`): FROM scratch images with only /bin/busybox are common and its sh is a real shell.
    /// </summary>
    static readonly Shell[] Candidates =
    [
        new("bash", ["/bin/bash"]), new("bash", ["/usr/bin/bash"]), new("bash", ["/usr/local/bin/bash"]),
        new("sh", ["/bin/sh"]), new("sh", ["/usr/bin/sh"]),
        new("busybox sh", ["/bin/busybox", "sh"]), new("busybox sh", ["/usr/bin/busybox", "sh"]),
    ];

    public const string NoShellMessage =
        "This image has no shell (bash, sh): none of /bin/bash, /usr/bin/bash, /usr/local/bin/bash, /bin/sh, /usr/bin/sh, " +
        "/bin/busybox or /usr/bin/busybox exists in the container, so there is nothing to open a terminal with. " +
        "Images built FROM scratch or distroless have none; add one to the image to use the terminal.";

    /// <summary>The first shell the container has; null when it has none.</summary>
    public static async Task<Shell?> FindShellAsync(DockerClient docker, string container, CancellationToken ct)
    {
        foreach (var shell in Candidates)
            if (await IsExecutableAsync(docker, container, shell.Command[0], ct)) return shell;
        return null;
    }

    static async Task<bool> IsExecutableAsync(DockerClient docker, string container, string path, CancellationToken ct)
    {
        try
        {
            var res = await docker.Containers.GetArchiveFromContainerAsync(container, new ContainerPathStatParameters { Path = path }, statOnly: true, ct);
            res.Stream?.Dispose();
            var mode = res.Stat.Mode;
            const uint dir = 1u << 31, symlink = 1u << 27;
            // A symlink (/bin/sh -> busybox, dash) is taken as is: its target's mode is not in the stat.
            return (mode & dir) == 0 && ((mode & symlink) != 0 || (mode & 0b001_001_001) != 0);
        }
        catch (DockerContainerNotFoundException) { return false; } // the engine answers a missing path with 404 too
        catch (DockerApiException e) when (e.StatusCode == HttpStatusCode.NotFound) { return false; }
    }

    /// <summary>Creates and starts an exec of the shell with a TTY; the stream is the terminal's both ways.</summary>
    public static async Task<(string ExecId, MultiplexedStream Stream)> StartAsync(DockerClient docker, string container, Shell shell, CancellationToken ct)
    {
        var exec = await docker.Exec.CreateContainerExecAsync(container, new ContainerExecCreateParameters
        {
            AttachStdin = true, AttachStdout = true, AttachStderr = true, TTY = true,
            Cmd = shell.Command,
            // xterm.js understands what xterm does; without TERM, shells and editors fall back to a dumb terminal.
            Env = ["TERM=xterm-256color"],
        }, ct);
        var stream = await docker.Exec.StartContainerExecAsync(exec.ID, new ContainerExecStartParameters { TTY = true }, ct);
        return (exec.ID, stream);
    }

    /// <summary>
    /// Ends the shell of a terminal that closed, as a terminal hang-up does (SIGHUP: the shell exits and takes its
    /// foreground job with it), then SIGKILL if it is still there. Needed: with a TTY, closing the exec's stdin is no
    /// EOF for the shell, and the engine has no call to stop an exec (moby#9098), so each closed terminal would leave
    /// a shell behind. The panel (user vpspanel) may not signal the container's processes itself: the signal is sent
    /// by a second exec, the same shell's `kill` builtin, as the same user, at the shell's pid inside the container
    /// (from NSpid in /proc/&lt;host pid&gt;/status). Where /proc does not show it (the panel in another pid namespace),
    /// Ctrl-C and Ctrl-D on the terminal end a shell that sits at its prompt.
    /// </summary>
    public static async Task HangUpAsync(DockerClient docker, string container, Shell shell, string execId, MultiplexedStream stream, CancellationToken ct)
    {
        var exec = await docker.Exec.InspectContainerExecAsync(execId, ct);
        if (!exec.Running) return;
        if (PidInContainer(exec.Pid) is not { } pid)
        {
            await stream.WriteAsync([0x03, 0x04], 0, 2, ct);
            return;
        }
        foreach (var signal in new[] { "HUP", "KILL" })
        {
            await RunAsync(docker, container, [.. shell.Command, "-c", $"kill -{signal} {pid}"], ct);
            for (var i = 0; i < 20; i++)
            {
                if (!(await docker.Exec.InspectContainerExecAsync(execId, ct)).Running) return;
                await Task.Delay(100, ct);
            }
        }
    }

    /// <summary>The process's pid in its own (the container's) namespace: the last NSpid field; null when /proc does not say.</summary>
    static long? PidInContainer(long hostPid)
    {
        if (hostPid <= 0) return null;
        try
        {
            var line = File.ReadLines($"/proc/{hostPid}/status").FirstOrDefault(l => l.StartsWith("NSpid:", StringComparison.Ordinal));
            return line is not null && long.TryParse(line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)[^1], out var pid) && pid > 1 ? pid : null;
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    /// <summary>Runs a command in the container without a TTY and waits for it to end.</summary>
    static async Task RunAsync(DockerClient docker, string container, string[] command, CancellationToken ct)
    {
        var exec = await docker.Exec.CreateContainerExecAsync(container, new ContainerExecCreateParameters { AttachStdout = true, AttachStderr = true, Cmd = command }, ct);
        using var stream = await docker.Exec.StartContainerExecAsync(exec.ID, new ContainerExecStartParameters(), ct);
        await stream.ReadOutputToEndAsync(ct);
    }

    /// <summary>POST /exec/{id}/resize: the TTY's rows and columns (the shell gets SIGWINCH).</summary>
    public static Task ResizeAsync(DockerClient docker, string execId, int cols, int rows, CancellationToken ct) =>
        docker.Exec.ResizeExecTtyAsync(execId, new ContainerResizeParameters { Width = cols, Height = rows }, ct);
}

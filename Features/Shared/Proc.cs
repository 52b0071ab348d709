using System.Diagnostics;
using System.Text;

namespace VpsPanel.Features.Shared;

public sealed record ProcResult(int ExitCode, string Stdout, string Stderr, bool TimedOut)
{
    public bool Ok => ExitCode == 0 && !TimedOut;
}

/// <summary>
/// The one way the panel runs another program: an argument list (never a shell string), a timeout,
/// a plain C locale, and no prompts. Output is captured up to a cap so a chatty program cannot eat memory.
/// </summary>
public static class Proc
{
    const int MaxCapture = 1 << 20;

    public static async Task<ProcResult> RunAsync(
        string file, IEnumerable<string> args, TimeSpan timeout, CancellationToken ct = default,
        string? workingDir = null, IReadOnlyDictionary<string, string>? env = null, string? stdin = null,
        Action<string>? onLine = null, Func<Stream, CancellationToken, Task>? writeStdin = null)
    {
        // Resolved here rather than by setsid, so a missing program is still "could not start" (exit 127) as before.
        if (ResolveProgram(file) is not { } program) return new ProcResult(127, "", $"could not start {file}: no such program on the PATH", false);
        // In a process group of its own (ProcGroups): a timeout or a restart after a crash kills the whole group.
        var setsid = ProcGroups.Setsid;
        var psi = new ProcessStartInfo(setsid ?? program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null || writeStdin is not null,
            UseShellExecute = false,
            WorkingDirectory = workingDir ?? "",
        };
        // setsid stops reading its own options at the program (an absolute path), so the arguments reach it untouched.
        if (setsid is not null) psi.ArgumentList.Add(program);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["LC_ALL"] = "C";
        if (ProcGroups.Marker is { } marker) psi.Environment[ProcGroups.MarkerVariable] = marker;
        psi.Environment["GIT_TERMINAL_PROMPT"] = "0";
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;

        using var p = new Process { StartInfo = psi };
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        void Capture(StringBuilder sb, string? line)
        {
            if (line is null) return;
            onLine?.Invoke(line);
            lock (sb) if (sb.Length < MaxCapture) sb.AppendLine(line);
        }
        p.OutputDataReceived += (_, e) => Capture(stdout, e.Data);
        p.ErrorDataReceived += (_, e) => Capture(stderr, e.Data);
        try { p.Start(); }
        catch (Exception e) { return new ProcResult(127, "", $"could not start {file}: {e.Message}", false); }
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        if (stdin is not null)
        {
            await p.StandardInput.WriteAsync(stdin);
            p.StandardInput.Close();
        }
        // Streamed while the program runs (a build context can be large); a program that stops reading (it failed)
        // breaks the pipe, which is its own exit code's business, not an error of ours.
        var feeding = writeStdin is null ? Task.CompletedTask : Task.Run(async () =>
        {
            try { await using (var input = p.StandardInput.BaseStream) await writeStdin(input, ct); }
            catch (Exception e) when (e is IOException or OperationCanceledException) { }
        }, CancellationToken.None);
        using var timeoutCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeoutCts.CancelAfter(timeout);
        var timedOut = false;
        try { await p.WaitForExitAsync(timeoutCts.Token); }
        catch (OperationCanceledException)
        {
            timedOut = !ct.IsCancellationRequested;
            KillAll(p, grouped: setsid is not null);
            ct.ThrowIfCancellationRequested();
        }
        // Drains the async output readers. Bounded: a grandchild that left the group (its own setsid) and still holds
        // the pipes must not hold the caller past its timeout; it is killed, and what it would still print is dropped.
        using (var drain = new CancellationTokenSource(DrainTimeout))
        {
            try { await p.WaitForExitAsync(drain.Token); }
            catch (OperationCanceledException) { KillAll(p, grouped: setsid is not null); }
        }
        await feeding;
        return new ProcResult(timedOut || !p.HasExited ? -1 : p.ExitCode, stdout.ToString(), stderr.ToString(), timedOut);
    }

    static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Kills the child's process group (everything it started, re-parented or not) and its process tree (whatever
    /// left the group), then waits for the child itself to exit, for a bounded time: the old unbounded wait for the
    /// output streams let a helper holding them keep a "timed out" git running until the remote closed.
    /// </summary>
    static void KillAll(Process p, bool grouped)
    {
        int pid;
        try { pid = p.Id; } catch (InvalidOperationException) { return; }
        if (grouped) ProcGroups.KillGroup(pid);
        try { p.Kill(entireProcessTree: true); } catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception) { }
        p.WaitForExit(DrainTimeout);
    }

    /// <summary>The absolute path of a program: as given when it has a '/', else the first match on PATH; null when none.</summary>
    static string? ResolveProgram(string file)
    {
        if (file.Contains('/')) return File.Exists(file) ? Path.GetFullPath(file) : null;
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, file);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }
}

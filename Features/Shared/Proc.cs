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
        Action<string>? onLine = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            UseShellExecute = false,
            WorkingDirectory = workingDir ?? "",
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["LC_ALL"] = "C";
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
        using var timeoutCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeoutCts.CancelAfter(timeout);
        var timedOut = false;
        try { await p.WaitForExitAsync(timeoutCts.Token); }
        catch (OperationCanceledException)
        {
            timedOut = !ct.IsCancellationRequested;
            try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            await p.WaitForExitAsync(CancellationToken.None);
            ct.ThrowIfCancellationRequested();
        }
        p.WaitForExit(); // drains the async output readers
        return new ProcResult(timedOut ? -1 : p.ExitCode, stdout.ToString(), stderr.ToString(), timedOut);
    }
}

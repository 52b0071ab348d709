using System.Diagnostics;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Upgrade;

/// <summary>
/// Publishes the single binary exactly as tests/run.sh and the release workflow do, for another version or
/// architecture. From a copy of the source (node_modules linked, not copied), so its obj/ is its own: a publish in
/// the checkout would race the checkout's own builds and leave -p:Version in its intermediate files.
/// </summary>
public static class ReleasePublish
{
    static readonly string[] Skip = ["tests", "out", "obj", "bin", "node_modules", ".git", "data"];

    /// <summary>Returns the published binary's path under <paramref name="workDir"/>.</summary>
    public static async Task<string> PublishAsync(string workDir, string rid, string version)
    {
        var src = Path.Combine(workDir, "src");
        Directory.CreateDirectory(src);
        foreach (var entry in Directory.EnumerateFileSystemEntries(Paths.RepoRoot))
        {
            var name = Path.GetFileName(entry);
            if (Skip.Contains(name)) continue;
            if (Directory.Exists(entry)) Cmd.Run("cp", "-a", entry, Path.Combine(src, name));
            else File.Copy(entry, Path.Combine(src, name));
        }
        File.CreateSymbolicLink(Path.Combine(src, "node_modules"), Path.Combine(Paths.RepoRoot, "node_modules"));
        var output = Path.Combine(workDir, "publish");
        var psi = new ProcessStartInfo("nice") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = src };
        foreach (var a in new[] { "-n", "5", "dotnet", "publish", "VpsPanel.csproj", "-c", "Release", "-r", rid, $"-p:Version={version}", "-o", output, "-nologo", "-v", "quiet", "-clp:ErrorsOnly" })
            psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        // Measured: two at once (x64 and arm64) did not finish within 20 minutes at load 40-100 on the 2-core box.
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(40));
        try { await p.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException)
        {
            // A publish left running keeps both cores busy for nothing (its output dir is deleted with the fixture).
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"dotnet publish -r {rid} -p:Version={version} did not finish within 40 minutes");
        }
        var binary = Path.Combine(output, "vpspanel");
        if (p.ExitCode != 0 || !File.Exists(binary))
            throw new InvalidOperationException($"dotnet publish -r {rid} -p:Version={version} failed (exit {p.ExitCode}):\n{await stdout}\n{await stderr}");
        Paths.DeleteQuietly(src);
        return binary;
    }
}

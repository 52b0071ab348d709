using System.Diagnostics;
using System.Text;
using VpsPanel.Tests.Harness;
using Xunit.Abstractions;

namespace VpsPanel.Tests.Upgrade;

/// <summary>
/// The release's linux-arm64 binary (published with the same options as x64, arm64 runtime packs from the NuGet
/// feed) runs under qemu-user-static and answers /healthz. qemu-aarch64-static is called by name, so it works
/// whether or not binfmt_misc is registered on the host.
/// </summary>
public sealed class Arm64Tests(ITestOutputHelper output) : IAsyncLifetime
{
    const string Qemu = "/usr/bin/qemu-aarch64-static";
    // The binary is self-contained but links the arm64 C library (ld-linux-aarch64, libc, libstdc++) and loads libssl
    // at start: an arm64 Debian root made by debootstrap's first stage (downloads and unpacks, runs nothing arm64),
    // cached like TestDebian's, and QEMU_LD_PREFIX makes qemu look there.
    // The runtime's W^X maps JIT code twice (one writable view, one executable); qemu-user does not see writes through
    // the other view and keeps running stale translations: measured here, the panel then failed at random ("Must add
    // values for the following parameters" from SQLite, a shutdown at start). Off under emulation only; real arm64 is fine.
    static readonly string Sysroot = Path.Combine(TestDebian.CacheDir, "bookworm-arm64-sysroot");
    readonly string _work = Paths.NewTempDir("vpspanel-arm64-");

    [Fact]
    public async Task The_arm64_binary_answers_healthz_under_qemu()
    {
        Assert.True(File.Exists(Qemu), "qemu-aarch64-static is missing: apt-get install qemu-user-static (tests/run.sh installs it)");
        await EnsureSysrootAsync();
        var started = Stopwatch.StartNew();
        var binary = await ReleasePublish.PublishAsync(_work, "linux-arm64", "99.4.0");
        output.WriteLine($"arm64 publish: {started.Elapsed.TotalSeconds:0} s, {new FileInfo(binary).Length / 1024 / 1024} MB");
        var elf = new byte[20];
        using (var f = File.OpenRead(binary)) f.ReadExactly(elf);
        Assert.Equal(0xB7, elf[18]); // e_machine EM_AARCH64: it really is an arm64 executable

        var version = await RunAsync([binary, "version"], new Dictionary<string, string>(), TimeSpan.FromMinutes(5));
        Assert.Equal("vpspanel 99.4.0", version.Trim());

        var dataDir = Path.Combine(_work, "data");
        Directory.CreateDirectory(dataDir);
        var port = Paths.FreePort();
        var env = new Dictionary<string, string>
        {
            ["Panel__DataDir"] = dataDir,
            ["Caddy__AdminAddress"] = $"http://127.0.0.1:{Paths.FreePort()}",
            ["Caddy__Caddyfile"] = Path.Combine(dataDir, "Caddyfile"),
            ["Caddy__AutomaticHttps"] = "false",
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
            ["DOTNET_BUNDLE_EXTRACT_BASE_DIR"] = Path.Combine(_work, "bundle"),
        };
        var psi = new ProcessStartInfo(Qemu) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = _work };
        psi.ArgumentList.Add(binary);
        foreach (var (k, v) in env) psi.Environment[k] = v;
        psi.Environment["QEMU_LD_PREFIX"] = Sysroot;
        psi.Environment["DOTNET_EnableWriteXorExecute"] = "0";
        var log = new StringBuilder();
        using var panel = Process.Start(psi)!;
        panel.OutputDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
        panel.ErrorDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
        panel.BeginOutputReadLine();
        panel.BeginErrorReadLine();
        try
        {
            started.Restart();
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            string? body = null;
            // Emulated, every method is JIT-compiled by emulated code: minutes, not seconds, on a loaded box.
            while (started.Elapsed < TimeSpan.FromMinutes(10) && !panel.HasExited)
            {
                try
                {
                    using var res = await http.GetAsync($"http://127.0.0.1:{port}/healthz");
                    if (res.IsSuccessStatusCode) { body = await res.Content.ReadAsStringAsync(); break; }
                }
                catch (HttpRequestException) { }
                catch (TaskCanceledException) { }
                await Task.Delay(500);
            }
            output.WriteLine($"arm64 under qemu: /healthz after {started.Elapsed.TotalSeconds:0} s");
            Assert.True(body is not null, $"the arm64 panel did not answer /healthz (exited: {panel.HasExited}):\n{log}");
            Assert.Contains("\"database\":{\"ok\":true}", body);
        }
        finally
        {
            if (!panel.HasExited) { panel.Kill(entireProcessTree: true); await panel.WaitForExitAsync(); }
        }
    }

    async Task<string> RunAsync(string[] args, Dictionary<string, string> env, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(Qemu) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = _work };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_BUNDLE_EXTRACT_BASE_DIR"] = Path.Combine(_work, "bundle");
        psi.Environment["QEMU_LD_PREFIX"] = Sysroot;
        psi.Environment["DOTNET_EnableWriteXorExecute"] = "0";
        foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        await p.WaitForExitAsync(cts.Token);
        Assert.True(p.ExitCode == 0, $"qemu-aarch64-static {string.Join(' ', args)} exited {p.ExitCode}: {await stderr}");
        return await stdout;
    }

    static async Task EnsureSysrootAsync()
    {
        var complete = Sysroot + ".complete";
        if (File.Exists(complete)) return;
        Directory.CreateDirectory(TestDebian.CacheDir);
        using var machineLock = new FileStream(Path.Combine(TestDebian.CacheDir, ".arm64.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        if (File.Exists(complete)) return;
        if (Directory.Exists(Sysroot)) Directory.Delete(Sysroot, recursive: true);
        var boot = await TestDebian.RunAsync("debootstrap", ["--foreign", "--arch=arm64", "--variant=minbase", "--include=libssl3", "bookworm", Sysroot, "http://deb.debian.org/debian"],
            timeout: TimeSpan.FromMinutes(15));
        Assert.True(boot.ExitCode == 0, $"debootstrap --foreign --arch=arm64 failed ({boot.ExitCode}):\n{boot.Stdout}\n{boot.Stderr}");
        // The first stage unpacks the base system only; --include's packages (libssl3) are left as .debs for the second.
        foreach (var deb in Directory.GetFiles(Path.Combine(Sysroot, "var", "cache", "apt", "archives"), "*.deb"))
        {
            var x = await TestDebian.RunAsync("dpkg", ["-x", deb, Sysroot]);
            Assert.True(x.ExitCode == 0, $"dpkg -x {deb} failed: {x.Stderr}");
        }
        Assert.True(File.Exists(Path.Combine(Sysroot, "usr", "lib", "aarch64-linux-gnu", "libssl.so.3")), "the arm64 root has no libssl.so.3");
        await File.WriteAllTextAsync(complete, DateTime.UtcNow.ToString("O"));
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        Paths.DeleteQuietly(_work);
        return Task.CompletedTask;
    }
}

using System.CommandLine;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using VpsPanel.Features.Backups;
using VpsPanel.Features.Cli;
using VpsPanel.Features.Settings;
using VpsPanel.Features.Shared;

namespace VpsPanel.Features.Upgrades;

/// <summary>
/// `vpspanel upgrade [--version X] [--check]`: the running binary replaces itself with a release. In order: the
/// release's SHA256SUMS and binary for this machine are downloaded and verified (a mismatch or a missing sum stops
/// here, with nothing changed); the panel's database is backed up as `vpspanel backup` does; the current binary is
/// kept beside itself as &lt;binary&gt;.previous; the new one is written beside it, flushed and renamed over it (a
/// crash leaves the old or the new file, never half of one); Upgrade:RestartCommand restarts the panel; and if the
/// new version does not answer /healthz within Upgrade:HealthTimeoutSeconds the previous binary is put back and
/// restarted, which is said on stderr with exit 1.
/// </summary>
public static class UpgradeCommand
{
    public static Command Build()
    {
        var version = new Option<string?>("--version") { Description = "Install this release (e.g. 1.2.3) instead of the newest" };
        var check = new Option<bool>("--check") { Description = "Only say whether a newer release exists (tab-separated: current, latest, newer); changes nothing, exit 0 either way" };
        var url = new Option<string?>("--url") { Description = "Where the panel answers /healthz (default: $VPSPANEL_URL, else the address it listens on: Urls / ASPNETCORE_URLS, else Panel:PublicUrl)" };
        var replace = new Option<string?>("--replace") { Hidden = true, Description = "Internal: the binary to replace (set when the upgrade runs from its temporary copy)" };
        var cmd = new Command("upgrade", "Download, verify and install a release of vpspanel, restart the panel, and roll back if it does not come up") { version, check, url, replace };
        cmd.SetAction(async (p, ct) =>
        {
            var settings = CliApp.LoadSettings(p);
            try
            {
                if (p.GetValue(check))
                {
                    if (p.GetValue(version) is not null) throw new CliException("--check looks at the newest release; leave out --version", 2);
                    return await CheckAsync(settings, ct);
                }
                var panelUrl = PanelUrl(p.GetValue(url), settings);
                if (p.GetValue(replace) is not { } target) return await FromCopyAsync(ThisBinary(), ct);
                if (!File.Exists(target)) throw new CliException($"--replace: {target} is not a file", 2);
                return await UpgradeAsync(settings, p.GetValue(version), panelUrl, Path.GetFullPath(target), ct);
            }
            catch (ReleaseException e) { throw new CliException(e.Message); }
            catch (BackupException e) { throw new CliException($"the backup before the upgrade failed, so nothing was changed: {e.Message}", e.ExitCode); }
        });
        return cmd;
    }

    static async Task<int> CheckAsync(PanelSettings settings, CancellationToken ct)
    {
        using var http = Release.NewClient(TimeSpan.FromSeconds(30));
        var latest = await Release.LatestVersionAsync(http, settings.ReleaseBaseUrl, ct);
        Console.WriteLine($"current\t{CliApp.Version}");
        Console.WriteLine($"latest\t{latest}");
        Console.WriteLine($"newer\t{(Release.Compare(latest, CliApp.Version) > 0 ? "yes" : "no")}");
        return 0;
    }

    /// <summary>
    /// Runs the same command from a copy of this binary, told which file to replace. A single-file .NET binary reads
    /// its bundled assemblies by path when it first needs them: once the file at that path was swapped, the next
    /// assembly load read the NEW file at the old offsets and the upgrade died with SIGBUS (exit 135) halfway
    /// through, before it could roll back. The copy's path never changes while it works.
    /// </summary>
    static async Task<int> FromCopyAsync(string binary, CancellationToken ct)
    {
        var copy = Path.Combine(Path.GetDirectoryName(binary)!, $".{Path.GetFileName(binary)}.upgrader-{Guid.NewGuid():N}");
        try
        {
            try { await PutInPlaceAsync(binary, copy, ct); }
            catch (UnauthorizedAccessException e)
            {
                throw new CliException($"cannot write beside {binary} ({e.Message}); run the upgrade as root, e.g. sudo vpspanel upgrade", ExitCodes.PathArgument);
            }
            var psi = new System.Diagnostics.ProcessStartInfo(copy) { UseShellExecute = false };
            foreach (var a in Environment.GetCommandLineArgs().Skip(1)) psi.ArgumentList.Add(a);
            psi.ArgumentList.Add("--replace");
            psi.ArgumentList.Add(binary);
            using var child = System.Diagnostics.Process.Start(psi)!;
            await child.WaitForExitAsync(CancellationToken.None);
            return child.ExitCode;
        }
        finally
        {
            if (File.Exists(copy)) File.Delete(copy);
        }
    }

    static async Task<int> UpgradeAsync(PanelSettings settings, string? wanted, string panelUrl, string binary, CancellationToken ct)
    {
        var current = CliApp.Version;
        // Ten minutes: the binary is tens of MB, and a slow mirror is still a mirror.
        using var http = Release.NewClient(TimeSpan.FromMinutes(10));
        string target;
        if (wanted is null) target = await Release.LatestVersionAsync(http, settings.ReleaseBaseUrl, ct);
        else target = Release.ParseVersion(wanted) ?? throw new CliException($"\"{wanted}\" is not a version; give one like 1.2.3", 2);
        if (target == current)
        {
            Console.WriteLine($"vpspanel {current} is already installed; nothing to do");
            return 0;
        }
        var asset = Release.AssetForThisMachine();
        // The versioned URLs even for the newest release: VERSION, SHA256SUMS and the binary then come from one
        // release, also when another one is published halfway through this download.
        var sumsUrl = Release.VersionUrl(settings.ReleaseBaseUrl, target, Release.SumsFile);
        var binaryUrl = Release.VersionUrl(settings.ReleaseBaseUrl, target, asset);
        var expected = await Release.ExpectedSumAsync(http, sumsUrl, asset, ct);

        var dir = Path.GetDirectoryName(binary)!;
        var incoming = Path.Combine(dir, $".{Path.GetFileName(binary)}.upgrade-{Guid.NewGuid():N}");
        var previous = binary + ".previous";
        string? dbBackup = null;
        try
        {
            Console.WriteLine($"downloading vpspanel {target} ({asset}) from {binaryUrl}");
            var actual = await DownloadAsync(http, binaryUrl, incoming, ct);
            if (actual != expected)
                throw new ReleaseException($"the SHA-256 of {binaryUrl} is {actual}, but {sumsUrl} says {expected}; refusing it (nothing was changed)");
            Console.WriteLine($"verified against {sumsUrl}");
            if (File.Exists(settings.DatabasePath))
            {
                dbBackup = await MakeBackup.CreateAsync(settings, null, ct);
                MakeBackup.PruneOldBackups(settings);
                Audit.AuditLog.RecordBackup(settings, "backup.create", dbBackup, "cli", $"before the upgrade to {target}");
                Console.WriteLine($"database backed up to {dbBackup}");
            }
            await PutInPlaceAsync(binary, previous, ct);
            Console.WriteLine($"vpspanel {current} kept at {previous}");
            File.Move(incoming, binary, overwrite: true);
            SyncDirectory(dir);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new CliException($"cannot replace {binary} ({e.Message}); run the upgrade as root, e.g. sudo vpspanel upgrade", ExitCodes.PathArgument);
        }
        finally
        {
            if (File.Exists(incoming)) File.Delete(incoming);
        }
        Console.WriteLine($"installed vpspanel {target} at {binary}; restarting the panel ({settings.UpgradeRestartCommand})");

        var problem = await RestartAndWaitAsync(settings, panelUrl, settings.UpgradeHealthTimeout, ct);
        if (problem is null)
        {
            Record(settings, "panel.upgrade", binary, $"from {current} to {target}");
            Console.WriteLine($"upgraded vpspanel from {current} to {target}; it answers {panelUrl}/healthz");
            return 0;
        }

        await Console.Error.WriteLineAsync($"vpspanel: version {target} {problem}; rolling back to {current}");
        await PutInPlaceAsync(previous, binary, ct);
        // The previous version answered before; it gets at least 90 s, a cold start on a busy small server.
        var back = await RestartAndWaitAsync(settings, panelUrl, TimeSpan.FromSeconds(Math.Max(90, settings.UpgradeHealthTimeout.TotalSeconds)), ct);
        Record(settings, "panel.upgrade.rollback", binary, $"{target} {problem}; back to {current}" + (back is null ? "" : $", which {back}"));
        if (back is null)
            await Console.Error.WriteLineAsync($"vpspanel: rolled back to {current} ({binary}); it answers {panelUrl}/healthz again. The upgrade to {target} did not happen" +
                (dbBackup is null ? "" : $"; the database backup is {dbBackup}"));
        else
            await Console.Error.WriteLineAsync($"vpspanel: rolled back to {current} ({binary}), but it {back} either; see the panel's log (journalctl -u vpspanel)" +
                (dbBackup is null ? "" : $"; the database backup is {dbBackup}"));
        return ExitCodes.Failed;
    }

    /// <summary>The file this process runs from, links resolved: renaming onto a symlink would replace the link, not the binary.</summary>
    static string ThisBinary()
    {
        var path = Environment.ProcessPath ?? throw new CliException("cannot tell which file this vpspanel runs from");
        return File.ResolveLinkTarget(path, returnFinalTarget: true)?.FullName ?? Path.GetFullPath(path);
    }

    /// <summary>Streams the download into <paramref name="file"/> (0755, flushed to disk) and returns its SHA-256.</summary>
    static async Task<string> DownloadAsync(HttpClient http, string url, string file, CancellationToken ct)
    {
        const long MaxBytes = 512L * 1024 * 1024;
        try
        {
            using var res = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, ct);
            if (!res.IsSuccessStatusCode) throw new ReleaseException($"{url} answered HTTP {(int)res.StatusCode}; nothing was changed");
            await using var body = await res.Content.ReadAsStreamAsync(ct);
            await using var output = new FileStream(file, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = Executable });
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[81920];
            long total = 0;
            int n;
            while ((n = await body.ReadAsync(buffer, ct)) > 0)
            {
                total += n;
                if (total > MaxBytes) throw new ReleaseException($"{url} is larger than {MaxBytes / 1024 / 1024} MB; no vpspanel binary is");
                sha.AppendData(buffer, 0, n);
                await output.WriteAsync(buffer.AsMemory(0, n), ct);
            }
            await output.FlushAsync(ct);
            output.Flush(flushToDisk: true);
            File.SetUnixFileMode(file, Executable);
            return Convert.ToHexStringLower(sha.GetHashAndReset());
        }
        catch (HttpRequestException e) { throw new ReleaseException($"cannot download {url}: {e.Message}; nothing was changed"); }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested) { throw new ReleaseException($"{url} did not finish within {http.Timeout.TotalMinutes:0} minutes; nothing was changed"); }
    }

    const UnixFileMode Executable = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
        UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    /// <summary>A copy of <paramref name="source"/> at <paramref name="target"/>: written beside it, flushed, renamed over it.</summary>
    static async Task PutInPlaceAsync(string source, string target, CancellationToken ct)
    {
        var dir = Path.GetDirectoryName(target)!;
        var temp = Path.Combine(dir, $".{Path.GetFileName(target)}.copy-{Guid.NewGuid():N}");
        try
        {
            await using (var input = File.OpenRead(source))
            await using (var output = new FileStream(temp, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = Executable }))
            {
                await input.CopyToAsync(output, ct);
                output.Flush(flushToDisk: true);
            }
            File.SetUnixFileMode(temp, Executable);
            File.Move(temp, target, overwrite: true);
            SyncDirectory(dir);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    [DllImport("libc", SetLastError = true)] static extern int open(string path, int flags);
    [DllImport("libc", SetLastError = true)] static extern int fsync(int fd);
    [DllImport("libc")] static extern int close(int fd);

    /// <summary>fsync of the directory: the rename itself reaches the disk, not only the file's bytes.</summary>
    static void SyncDirectory(string dir)
    {
        var fd = open(dir, 0);
        if (fd < 0) return;
        fsync(fd);
        close(fd);
    }

    /// <summary>Runs the restart command and waits for /healthz; null when the panel answers, else what went wrong.</summary>
    static async Task<string?> RestartAndWaitAsync(PanelSettings settings, string panelUrl, TimeSpan timeout, CancellationToken ct)
    {
        var words = settings.UpgradeRestartCommand.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var r = await Proc.RunAsync(words[0], words[1..], TimeSpan.FromMinutes(2), ct);
        if (!r.Ok)
            return $"could not be started: {settings.UpgradeRestartCommand} {(r.TimedOut ? "did not return within 2 minutes" : $"failed with exit code {r.ExitCode}")}" +
                   (r.Stderr.Trim() is { Length: > 0 } err ? $": {err.ReplaceLineEndings(" ")}" : "");
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + timeout;
        var last = "no answer";
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var res = await http.GetAsync(panelUrl + "/healthz", ct);
                if (res.IsSuccessStatusCode) return null;
                last = $"HTTP {(int)res.StatusCode}";
            }
            catch (HttpRequestException e) { last = e.Message; }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested) { last = "no answer within 5 seconds"; }
            await Task.Delay(500, ct);
        }
        return $"did not answer {panelUrl}/healthz within {timeout.TotalSeconds:0} seconds (last: {last})";
    }

    /// <summary>An audit row, when there is a database to write it to.</summary>
    static void Record(PanelSettings settings, string action, string binary, string detail)
    {
        if (File.Exists(settings.DatabasePath)) Audit.AuditLog.RecordBackup(settings, action, binary, "cli", detail);
    }

    /// <summary>
    /// Where to ask /healthz: the option, $VPSPANEL_URL, the address the panel listens on (install.sh writes Urls
    /// into the settings file; a wildcard host is this machine), else Panel:PublicUrl.
    /// </summary>
    static string PanelUrl(string? option, PanelSettings settings)
    {
        var config = PanelSettings.BuildConfiguration([]);
        var url = option ?? Environment.GetEnvironmentVariable("VPSPANEL_URL");
        if (string.IsNullOrWhiteSpace(url) && (config["Urls"] ?? config["ASPNETCORE_URLS"]) is { Length: > 0 } listen)
            url = listen.Split(';', StringSplitOptions.RemoveEmptyEntries)[0]
                .Replace("://*", "://127.0.0.1").Replace("://+", "://127.0.0.1").Replace("://0.0.0.0", "://127.0.0.1").Replace("://[::]", "://[::1]");
        if (string.IsNullOrWhiteSpace(url)) url = settings.PublicUrl;
        if (string.IsNullOrWhiteSpace(url))
            throw new CliException("cannot tell where the panel answers /healthz: pass --url, set VPSPANEL_URL, or set Urls or Panel:PublicUrl", 2);
        url = url.Trim().TrimEnd('/');
        if (!Uri.TryCreate(url, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https"))
            throw new CliException($"the panel URL \"{url}\" is not an http(s) URL", 2);
        return url;
    }
}

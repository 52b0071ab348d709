using System.Formats.Tar;
using System.IO.Compression;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Backups;

/// <summary>
/// `vpspanel backup` / `vpspanel restore` and the scheduled backup job, on the published binary with real panels,
/// real SQLite files and real Data Protection key rings.
/// </summary>
public sealed class BackupRestoreTests
{
    // The scheduled job stays off unless a test turns it on, so it never races the test's own backups.
    static readonly Dictionary<string, string> NoSchedule = new() { ["Backup__Schedule"] = "" };

    [Fact]
    public async Task Backup_while_the_panel_writes_then_restore_into_a_fresh_data_dir_gives_identical_data_and_still_valid_sign_ins()
    {
        await using var panel = await PanelProcess.StartAsync(NoSchedule);
        using var admin = await PanelSetup.SignedInAdminAsync(panel);
        var outDir = Paths.NewTempDir();
        var restoredDirs = new List<string>();
        try
        {
            // The panel writes (a user created through its own pages, over and over) while backups are taken.
            using var stop = new CancellationTokenSource();
            var written = 0;
            var writer = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    var page = await admin.SubmitAsync("/users/new", new Dictionary<string, string>
                        { ["email"] = $"user{written}@example.com", ["password"] = "a long enough password", ["role"] = "member" });
                    Assert.True(page.Status is HttpStatusCode.Redirect or HttpStatusCode.SeeOther or HttpStatusCode.OK, $"{page.Status}: {page.Html}");
                    Interlocked.Increment(ref written);
                }
            });
            await WaitUntilAsync(() => Volatile.Read(ref written) >= 3, "the writer to get going");
            var midBackups = new List<string>();
            for (var i = 0; i < 3; i++)
            {
                var b = await PanelCli.RunAsync(["backup", outDir, "--data-dir", panel.DataDir]);
                Assert.True(b.ExitCode == 0, b.Stderr);
                midBackups.Add(b.Stdout.Trim());
            }
            await WaitUntilAsync(() => Volatile.Read(ref written) >= 8, "more writes");
            stop.Cancel();
            await writer;

            // Every backup taken mid-write restores to a consistent database holding a prefix of the writes.
            var finalUsers = Emails(panel.DataDir);
            foreach (var mid in midBackups)
            {
                var dir = NewRestoreDir(restoredDirs);
                var r = await PanelCli.RunAsync(["restore", mid, "--data-dir", dir]);
                Assert.True(r.ExitCode == 0, r.Stderr);
                Assert.Equal("ok", Scalar(dir, "PRAGMA integrity_check"));
                var users = Emails(dir);
                Assert.Contains(PanelSetup.AdminEmail, users);
                Assert.Subset(finalUsers.ToHashSet(), users.ToHashSet());
            }

            // A backup of the now idle panel restores to exactly the same database.
            var final = await PanelCli.RunAsync(["backup", outDir, "--data-dir", panel.DataDir]);
            Assert.True(final.ExitCode == 0, final.Stderr);
            Assert.Equal("600", Mode(final.Stdout.Trim()));
            var restored = NewRestoreDir(restoredDirs);
            var restore = await PanelCli.RunAsync(["restore", final.Stdout.Trim(), "--data-dir", restored]);
            Assert.True(restore.ExitCode == 0, restore.Stderr);
            Assert.Contains($"into {restored}", restore.Stdout);
            Assert.Equal(Dump(panel.DataDir), Dump(restored));
            Assert.Equal(finalUsers, Emails(restored));

            // The restored panel starts, and reads what the old one encrypted: its sign-in cookie is still good.
            var cookie = admin.Cookies.GetCookies(new Uri(panel.Url))["vpspanel.auth"]!.Value;
            await using (var back = await PanelProcess.StartAsync(NoSchedule, dataDir: restored))
            {
                var page = await GetWithCookieAsync(back, cookie);
                Assert.Equal(HttpStatusCode.OK, page.StatusCode);
                Assert.Contains("Dashboard", await page.Content.ReadAsStringAsync());
            }

            // Control: the same database without the key ring cannot read that cookie, so the key ring is what carried it.
            var keyless = NewRestoreDir(restoredDirs);
            Assert.Equal(0, (await PanelCli.RunAsync(["restore", final.Stdout.Trim(), "--data-dir", keyless])).ExitCode);
            Directory.Delete(Path.Combine(keyless, "keys"), recursive: true);
            await using (var other = await PanelProcess.StartAsync(NoSchedule, dataDir: keyless))
            {
                var page = await GetWithCookieAsync(other, cookie);
                Assert.Equal(HttpStatusCode.Redirect, page.StatusCode);
                Assert.StartsWith("/login", page.Headers.Location!.OriginalString.Replace(other.Url, ""));
            }
        }
        finally
        {
            Paths.DeleteQuietly(outDir);
            foreach (var d in restoredDirs) Paths.DeleteQuietly(d);
        }
    }

    [Fact]
    public async Task The_scheduled_job_backs_up_on_its_cron_and_keeps_only_Backup_Keep()
    {
        await using var panel = await PanelProcess.StartAsync(new Dictionary<string, string>
        {
            ["Backup__Schedule"] = "* * * * * ?",
            ["Backup__Keep"] = "2",
        });
        await WaitUntilAsync(() => panel.Log.Split('\n').Count(l => l.Contains("Backup written to")) >= 4, "four scheduled backups", TimeSpan.FromSeconds(40));
        await panel.StopAsync();

        var backupsDir = Path.Combine(panel.DataDir, "backups");
        var files = Directory.GetFiles(backupsDir).Select(Path.GetFileName).Order().ToList();
        Assert.Equal(2, files.Count);
        Assert.All(files, f => Assert.Matches(@"^vpspanel-backup-\d{8}T\d{9}Z\.tar\.gz$", f));
        Assert.Equal("700", Mode(backupsDir));
        // The kept ones are the newest, and they restore.
        var newest = panel.Log.Split('\n').Where(l => l.Contains("Backup written to")).Select(l => Path.GetFileName(l.Split("Backup written to ")[1].Split(';')[0])).TakeLast(2).Order();
        Assert.Equal(newest, files);
        var dir = Paths.NewTempDir();
        try
        {
            var r = await PanelCli.RunAsync(["restore", Path.Combine(backupsDir, files[^1]!), "--data-dir", dir]);
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.Equal(Dump(panel.DataDir), Dump(dir));
        }
        finally { Paths.DeleteQuietly(dir); }
    }

    [Fact]
    public async Task Backup_without_a_path_goes_to_the_data_dirs_backups_and_prunes_to_Backup_Keep()
    {
        var dataDir = await DataDirWithUserAsync("someone@example.com");
        try
        {
            var env = new Dictionary<string, string> { ["Backup__Keep"] = "2" };
            var made = new List<string>();
            for (var i = 0; i < 3; i++)
            {
                var r = await PanelCli.RunAsync(["backup", "--data-dir", dataDir], env: env);
                Assert.True(r.ExitCode == 0, r.Stderr);
                made.Add(r.Stdout.Trim());
            }
            Assert.All(made, m => Assert.Equal(Path.Combine(dataDir, "backups"), Path.GetDirectoryName(m)));
            Assert.Equal(made.Skip(1).Order(), Directory.GetFiles(Path.Combine(dataDir, "backups")).Order());
        }
        finally { Paths.DeleteQuietly(dataDir); }
    }

    // ---- bad input: clear error, non-zero exit, current data untouched ----------------------------------

    [Fact]
    public async Task Restore_refuses_while_a_panel_runs_on_the_data_dir_and_changes_nothing()
    {
        await using var panel = await PanelProcess.StartAsync(NoSchedule);
        Assert.Equal(0, (await PanelCli.RunAsync(["user", "add", "--email", "live@example.com", "--data-dir", panel.DataDir], "a long enough password\n")).ExitCode);
        var source = await DataDirWithUserAsync("other@example.com");
        try
        {
            var archive = (await PanelCli.RunAsync(["backup", "--data-dir", source])).Stdout.Trim();
            var before = Files(panel.DataDir);

            var r = await PanelCli.RunAsync(["restore", archive, "--data-dir", panel.DataDir]);

            Assert.Equal(1, r.ExitCode);
            Assert.Contains($"a vpspanel panel is running on the data dir {panel.DataDir}", r.Stderr);
            Assert.Contains("--force", r.Stderr);
            Assert.DoesNotContain("   at ", r.Stderr);
            Assert.Equal(before.Keys.Where(k => !k.StartsWith("vpspanel.db")), Files(panel.DataDir).Keys.Where(k => !k.StartsWith("vpspanel.db")));
            Assert.Contains("live@example.com", Emails(panel.DataDir));
            Assert.DoesNotContain("other@example.com", Emails(panel.DataDir));
        }
        finally { Paths.DeleteQuietly(source); }
    }

    [Fact]
    public async Task A_second_panel_on_the_same_data_dir_is_refused()
    {
        await using var panel = await PanelProcess.StartAsync(NoSchedule);
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => PanelProcess.StartAsync(NoSchedule, dataDir: panel.DataDir));
        Assert.Contains("exited with code 5", e.Message);
        Assert.Contains($"another vpspanel process is already using the data dir {panel.DataDir}", e.Message);
    }

    public static TheoryData<string, string> BadArchives => new()
    {
        { "random bytes", "cannot be read as a gzip-compressed tar archive" },
        { "empty file", "it is empty" },
        { "plain text", "cannot be read as a gzip-compressed tar archive" },
        { "truncated", "" },
        { "foreign tar.gz", "it holds an unexpected file hello.txt" },
        { "path traversal", "it holds an unexpected file ../../evil.xml" },
        { "symlink entry", "a SymbolicLink entry" },
        { "no manifest", "it has no manifest.json" },
        { "foreign manifest", "does not describe a vpspanel-backup archive" },
        { "newer format", "in backup format 2, and this binary reads up to format 1" },
        { "newer schema", "its database has schema version 999, newer than this vpspanel binary knows" },
        { "flipped byte in the database", "vpspanel.db does not match the size and SHA-256 in its manifest" },
        { "missing key file", "listed in its manifest, is missing" },
        { "unlisted extra key", "which its manifest does not list" },
        { "garbage database with matching hash", "its database cannot be opened by SQLite" },
    };

    [Theory]
    [MemberData(nameof(BadArchives))]
    public async Task Restore_of_a_corrupt_or_foreign_file_fails_clearly_and_leaves_current_data_untouched(string kind, string message)
    {
        var source = await DataDirWithUserAsync("in-the-backup@example.com");
        var current = await DataDirWithUserAsync("current@example.com");
        var work = Paths.NewTempDir();
        try
        {
            var good = (await PanelCli.RunAsync(["backup", work, "--data-dir", source])).Stdout.Trim();
            var bad = Path.Combine(work, "bad.tar.gz");
            await File.WriteAllBytesAsync(bad, MakeBad(kind, await File.ReadAllBytesAsync(good)));
            var before = Files(current);

            var r = await PanelCli.RunAsync(["restore", bad, "--data-dir", current]);

            Assert.Equal(1, r.ExitCode);
            Assert.StartsWith($"vpspanel: {bad} is not a usable vpspanel backup: ", r.Stderr);
            Assert.Contains(message, r.Stderr);
            Assert.Contains("Nothing was changed.", r.Stderr);
            Assert.DoesNotContain("   at ", r.Stderr);
            Assert.Equal(before, Files(current));
            Assert.Equal(["current@example.com"], Emails(current));
        }
        finally
        {
            Paths.DeleteQuietly(source);
            Paths.DeleteQuietly(current);
            Paths.DeleteQuietly(work);
        }
    }

    [Fact]
    public async Task Restore_of_a_missing_file_and_backup_onto_an_existing_file_or_of_no_database_fail_clearly()
    {
        var current = await DataDirWithUserAsync("current@example.com");
        var empty = Paths.NewTempDir();
        try
        {
            var before = Files(current);
            var missing = await PanelCli.RunAsync(["restore", "/nonexistent/backup.tar.gz", "--data-dir", current]);
            Assert.Equal(1, missing.ExitCode);
            Assert.Equal("vpspanel: /nonexistent/backup.tar.gz does not exist\n", missing.Stderr);

            var existing = Path.Combine(empty, "taken.tar.gz");
            await File.WriteAllTextAsync(existing, "mine");
            var overwrite = await PanelCli.RunAsync(["backup", existing, "--data-dir", current]);
            Assert.Equal(1, overwrite.ExitCode);
            Assert.Contains($"{existing} already exists; a backup never overwrites a file", overwrite.Stderr);
            Assert.Equal("mine", await File.ReadAllTextAsync(existing));
            Assert.Equal(before, Files(current));

            var nothing = await PanelCli.RunAsync(["backup", "--data-dir", Path.Combine(empty, "no-panel-here")]);
            Assert.Equal(1, nothing.ExitCode);
            Assert.Contains("there is no panel database at", nothing.Stderr);
            Assert.Contains("nothing to back up", nothing.Stderr);
        }
        finally
        {
            Paths.DeleteQuietly(current);
            Paths.DeleteQuietly(empty);
        }
    }

    // ---- making bad archives from a good one --------------------------------------------------------------

    static byte[] MakeBad(string kind, byte[] good)
    {
        switch (kind)
        {
            case "random bytes": return RandomNumberGenerator.GetBytes(4096);
            case "empty file": return [];
            case "plain text": return Encoding.UTF8.GetBytes("this is not a backup\n");
            case "truncated": return good[..(good.Length / 2)];
        }
        var entries = Unpack(good);
        var manifest = JsonNode.Parse(entries["manifest.json"])!;
        void Relist()
        {
            var files = new JsonArray();
            foreach (var (name, data) in entries.Where(e => e.Key != "manifest.json"))
                files.Add(new JsonObject { ["path"] = name, ["size"] = data.Length, ["sha256"] = Convert.ToHexStringLower(SHA256.HashData(data)) });
            manifest["files"] = files;
            entries["manifest.json"] = Encoding.UTF8.GetBytes(manifest.ToJsonString());
        }
        switch (kind)
        {
            case "foreign tar.gz": return Pack(new() { ["hello.txt"] = "hi"u8.ToArray() });
            case "path traversal": entries["../../evil.xml"] = "x"u8.ToArray(); break;
            case "symlink entry": return Pack(entries, symlink: "keys/link.xml");
            case "no manifest": entries.Remove("manifest.json"); break;
            case "foreign manifest": manifest["format"] = "something-else"; entries["manifest.json"] = Encoding.UTF8.GetBytes(manifest.ToJsonString()); break;
            case "newer format": manifest["formatVersion"] = 2; entries["manifest.json"] = Encoding.UTF8.GetBytes(manifest.ToJsonString()); break;
            case "newer schema": manifest["schemaVersion"] = 999; entries["manifest.json"] = Encoding.UTF8.GetBytes(manifest.ToJsonString()); break;
            case "flipped byte in the database": entries["vpspanel.db"][200] ^= 0xff; break;
            case "missing key file": entries.Remove(entries.Keys.First(k => k.StartsWith("keys/"))); break;
            case "unlisted extra key": entries["keys/key-extra.xml"] = "<key/>"u8.ToArray(); break;
            case "garbage database with matching hash": entries["vpspanel.db"] = RandomNumberGenerator.GetBytes(8192); Relist(); break;
            default: throw new ArgumentException(kind);
        }
        return Pack(entries);
    }

    static Dictionary<string, byte[]> Unpack(byte[] archive)
    {
        var result = new Dictionary<string, byte[]>();
        using var gz = new GZipStream(new MemoryStream(archive), CompressionMode.Decompress);
        using var tar = new TarReader(gz);
        while (tar.GetNextEntry() is { } e)
        {
            using var ms = new MemoryStream();
            e.DataStream?.CopyTo(ms);
            result[e.Name] = ms.ToArray();
        }
        return result;
    }

    static byte[] Pack(Dictionary<string, byte[]> entries, string? symlink = null)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true))
        using (var tar = new TarWriter(gz, TarEntryFormat.Pax))
        {
            foreach (var (name, data) in entries)
                tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(data) });
            if (symlink is not null)
                tar.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, symlink) { LinkName = "/etc/shadow" });
        }
        return ms.ToArray();
    }

    // ---- helpers ----------------------------------------------------------------------------------------

    /// <summary>A data dir made by the CLI (migrated database, one user) plus a key ring from a short panel run.</summary>
    static async Task<string> DataDirWithUserAsync(string email)
    {
        var dir = Paths.NewTempDir("vpspanel-data-");
        await using (await PanelProcess.StartAsync(NoSchedule, dataDir: dir)) { }
        var r = await PanelCli.RunAsync(["user", "add", "--email", email, "--admin", "--data-dir", dir], "a long enough password\n");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(dir, "keys"), "*.xml"));
        return dir;
    }

    static string NewRestoreDir(List<string> all)
    {
        // Does not exist yet: restore creates it, as on a new server.
        var dir = Path.Combine(Path.GetTempPath(), "vpspanel-restored-" + Guid.NewGuid().ToString("N")[..12]);
        all.Add(dir);
        return dir;
    }

    static SqliteConnection Open(string dataDir)
    {
        var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path.Combine(dataDir, "vpspanel.db"), Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        c.Open();
        return c;
    }

    internal static string? Scalar(string dataDir, string sql)
    {
        using var c = Open(dataDir);
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        return cmd.ExecuteScalar()?.ToString();
    }

    internal static List<string> Emails(string dataDir)
    {
        using var c = Open(dataDir);
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT email FROM users ORDER BY email";
        using var r = cmd.ExecuteReader();
        var list = new List<string>();
        while (r.Read()) list.Add(r.GetString(0));
        return list;
    }

    /// <summary>Every row of every table (and the schema version), as text: two equal dumps mean two equal databases.</summary>
    internal static string Dump(string dataDir)
    {
        using var c = Open(dataDir);
        var sb = new StringBuilder();
        using (var v = c.CreateCommand()) { v.CommandText = "PRAGMA user_version"; sb.AppendLine($"user_version={v.ExecuteScalar()}"); }
        var tables = new List<string>();
        using (var t = c.CreateCommand())
        {
            t.CommandText = "SELECT name, sql FROM sqlite_master WHERE type IN ('table','index','trigger','view') ORDER BY type, name";
            using var r = t.ExecuteReader();
            while (r.Read())
            {
                var sql = r.IsDBNull(1) ? "" : r.GetString(1);
                sb.AppendLine($"schema {r.GetString(0)}: {sql}");
                if (sql.StartsWith("CREATE TABLE", StringComparison.Ordinal)) tables.Add(r.GetString(0));
            }
        }
        foreach (var table in tables)
        {
            // Metrics (Features/Metrics) are sampled every few seconds while a panel runs, so a running panel's copy
            // and its backup differ by design; their schema is compared above. (They are also WITHOUT ROWID tables.)
            if (table is "container_metrics" or "host_metrics") continue;
            using var q = c.CreateCommand();
            // The audit log's backup.create row is written after the archive is made and backup.restore into the
            // restored copy, by design; they (and the AUTOINCREMENT counter they move) are the only rows that differ.
            q.CommandText = table switch
            {
                "audit_log" => "SELECT * FROM audit_log WHERE action NOT LIKE 'backup.%' ORDER BY rowid",
                "sqlite_sequence" => "SELECT * FROM sqlite_sequence WHERE name <> 'audit_log' ORDER BY rowid",
                // sessions and recovery_codes are WITHOUT ROWID tables: their first column is the key.
                "sessions" or "recovery_codes" => $"SELECT * FROM \"{table}\" ORDER BY 1",
                _ => $"SELECT * FROM \"{table}\" ORDER BY rowid",
            };
            using var r = q.ExecuteReader();
            while (r.Read())
                sb.AppendLine(table + ": " + string.Join(" | ", Enumerable.Range(0, r.FieldCount).Select(i => r.IsDBNull(i) ? "NULL" : Convert.ToString(r.GetValue(i), System.Globalization.CultureInfo.InvariantCulture))));
        }
        Assert.Contains("users: ", sb.ToString());
        return sb.ToString();
    }

    /// <summary>
    /// Every file under a dir with its SHA-256, by relative path. vpspanel.lock is left out: it is not data, and whoever
    /// holds it last (a panel, or the restore that was refused) writes its pid there.
    /// </summary>
    static SortedDictionary<string, string> Files(string dir)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var f in Directory.GetFiles(dir, "*", SearchOption.AllDirectories).Where(f => Path.GetFileName(f) != "vpspanel.lock"))
            result[Path.GetRelativePath(dir, f)] = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(f)));
        foreach (var d in Directory.GetDirectories(dir, "*", SearchOption.AllDirectories))
            result[Path.GetRelativePath(dir, d) + "/"] = "dir";
        return result;
    }

    static string Mode(string path) => Convert.ToString((int)File.GetUnixFileMode(path), 8);

    static async Task<HttpResponseMessage> GetWithCookieAsync(PanelProcess panel, string cookie)
    {
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = new Uri(panel.Url) };
        var req = new HttpRequestMessage(HttpMethod.Get, "/");
        req.Headers.Add("Cookie", $"vpspanel.auth={cookie}");
        var res = await http.SendAsync(req);
        await res.Content.LoadIntoBufferAsync();
        return res;
    }

    static async Task WaitUntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"timed out waiting for {what}");
            await Task.Delay(100);
        }
    }
}

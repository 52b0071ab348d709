using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using Dapper;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Data;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Backups;

/// <summary>
/// `vpspanel restore FILE`: unpacks the archive into a staging dir beside the data, proves it whole (manifest,
/// sizes and hashes, schema not newer than this binary, SQLite integrity check), and only then swaps the
/// database and key ring in by rename, under the data dir lock. Any failure before the swap leaves the current
/// data exactly as it was; a failure during the swap is rolled back.
/// </summary>
public static partial class RestoreBackup
{
    public sealed record Result(BackupManifest Manifest, string? SetAside, string? ArchivedSettings);

    /// <summary>The only entry names an archive may hold; anything else means it is not ours (or was tampered with).</summary>
    [GeneratedRegex(@"^(manifest\.json|vpspanel\.db|settings/appsettings\.json|keys/[A-Za-z0-9_-][A-Za-z0-9._-]{0,200}\.xml)$")]
    private static partial Regex AllowedEntry();

    const UnixFileMode OwnerOnlyDir = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    const int MaxManifestBytes = 1 << 20;
    public const string RestoredSettingsName = "restored-appsettings.json";
    static readonly string[] LiveEntries = ["vpspanel.db", "vpspanel.db-wal", "vpspanel.db-shm", "keys"];

    public static async Task<Result> RunAsync(PanelSettings settings, string archive, bool force, CancellationToken ct = default)
    {
        archive = Path.GetFullPath(archive);
        if (!File.Exists(archive)) throw new BackupException($"{archive} does not exist");
        if (new FileInfo(archive).Length == 0) throw NotOurs(archive, "it is empty");
        var dataDir = settings.DataDir;
        using var dirLock = DataDirLock.TryAcquire(dataDir);
        if (dirLock is null && !force)
            throw new BackupException(
                $"a vpspanel panel is running on the data dir {dataDir} (it holds {DataDirLock.PathIn(dataDir)}); nothing was changed. " +
                "Stop it first (systemctl stop vpspanel) and run restore again, or pass --force to restore underneath the running panel.");

        var staging = Path.Combine(dataDir, $".restore-{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging, OwnerOnlyDir);
        try
        {
            var manifest = Unpack(archive, staging);
            VerifyDatabase(archive, Path.Combine(staging, BackupManifest.DatabaseEntry), manifest);

            var setAside = SwapIn(dataDir, staging);
            string? archivedSettings = null;
            var stagedSettings = Path.Combine(staging, BackupManifest.SettingsEntry);
            if (File.Exists(stagedSettings))
            {
                // Not applied: the new server's own settings (paths, URL) may rightly differ. The operator compares.
                archivedSettings = Path.Combine(dataDir, RestoredSettingsName);
                File.Move(stagedSettings, archivedSettings, overwrite: true);
            }
            await MakeBackup.GiveToDataDirOwnerAsync(dataDir,
                [Path.Combine(dataDir, BackupManifest.DatabaseEntry), settings.KeysDir, .. archivedSettings is null ? Array.Empty<string>() : [archivedSettings]], ct);
            return new Result(manifest, setAside, archivedSettings);
        }
        finally
        {
            Directory.Delete(staging, recursive: true);
        }
    }

    static BackupException NotOurs(string archive, string why) =>
        new($"{archive} is not a usable vpspanel backup: {why}. Nothing was changed.");

    /// <summary>Extracts the allowed entries into staging and checks them against the manifest; returns the manifest.</summary>
    static BackupManifest Unpack(string archive, string staging)
    {
        BackupManifest? manifest = null;
        var found = new Dictionary<string, BackupEntry>(StringComparer.Ordinal);
        try
        {
            using var file = File.OpenRead(archive);
            using var gz = new GZipStream(file, CompressionMode.Decompress);
            using var tar = new TarReader(gz);
            while (tar.GetNextEntry() is { } e)
            {
                if (e.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile))
                    throw NotOurs(archive, $"it holds {e.Name}, a {e.EntryType} entry, and a backup holds only plain files");
                if (!AllowedEntry().IsMatch(e.Name))
                    throw NotOurs(archive, $"it holds an unexpected file {e.Name}");
                if (found.ContainsKey(e.Name) || (e.Name == BackupManifest.EntryName && manifest is not null))
                    throw NotOurs(archive, $"it holds {e.Name} twice");
                if (e.Name == BackupManifest.EntryName)
                {
                    if (e.Length > MaxManifestBytes) throw NotOurs(archive, "its manifest.json is implausibly large");
                    using var ms = new MemoryStream();
                    e.DataStream?.CopyTo(ms);
                    manifest = ReadManifest(archive, ms.ToArray());
                    continue;
                }
                var dest = Path.Combine(staging, e.Name);
                Directory.CreateDirectory(Path.GetDirectoryName(dest)!, OwnerOnlyDir);
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                long size = 0;
                using (var output = new FileStream(dest, new FileStreamOptions
                       { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite }))
                {
                    var buffer = new byte[81920];
                    int n;
                    while (e.DataStream is not null && (n = e.DataStream.Read(buffer)) > 0)
                    {
                        hash.AppendData(buffer, 0, n);
                        output.Write(buffer, 0, n);
                        size += n;
                    }
                }
                found[e.Name] = new BackupEntry(e.Name, size, Convert.ToHexStringLower(hash.GetHashAndReset()));
            }
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException or ArgumentException or NotSupportedException)
        {
            throw NotOurs(archive, $"it cannot be read as a gzip-compressed tar archive ({e.Message})");
        }

        if (manifest is null) throw NotOurs(archive, "it has no manifest.json");
        foreach (var want in manifest.Files)
        {
            if (!found.TryGetValue(want.Path, out var got))
                throw NotOurs(archive, $"{want.Path}, listed in its manifest, is missing (the file is incomplete or damaged)");
            if (got.Size != want.Size || got.Sha256 != want.Sha256)
                throw NotOurs(archive, $"{want.Path} does not match the size and SHA-256 in its manifest (the file is damaged)");
        }
        foreach (var name in found.Keys.Where(n => manifest.Files.All(f => f.Path != n)))
            throw NotOurs(archive, $"it holds {name}, which its manifest does not list");
        if (!found.ContainsKey(BackupManifest.DatabaseEntry))
            throw NotOurs(archive, "it holds no database");
        return manifest;
    }

    static BackupManifest ReadManifest(string archive, byte[] json)
    {
        BackupManifest? m;
        try { m = JsonSerializer.Deserialize<BackupManifest>(json, BackupManifest.Json); }
        catch (JsonException e) { throw NotOurs(archive, $"its manifest.json is not valid ({e.Message})"); }
        if (m is null || m.Format != BackupManifest.FormatName || m.Files is null)
            throw NotOurs(archive, $"its manifest.json does not describe a {BackupManifest.FormatName} archive");
        if (m.FormatVersion > BackupManifest.CurrentFormatVersion)
            throw NotOurs(archive, $"it was made by vpspanel {m.PanelVersion} in backup format {m.FormatVersion}, and this binary reads up to format {BackupManifest.CurrentFormatVersion}; install vpspanel {m.PanelVersion} or newer to restore it");
        var latest = Migrations.Embedded.Count == 0 ? 0 : Migrations.Embedded[^1].Version;
        if (m.SchemaVersion > latest)
            throw NotOurs(archive, $"its database has schema version {m.SchemaVersion}, newer than this vpspanel binary knows ({latest}); install vpspanel {m.PanelVersion} or newer to restore it");
        return m;
    }

    static void VerifyDatabase(string archive, string db, BackupManifest manifest)
    {
        try
        {
            using var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = db, Pooling = false, Mode = SqliteOpenMode.ReadWrite }.ToString());
            c.Open();
            var check = c.ExecuteScalar<string>("PRAGMA integrity_check;");
            if (check != "ok") throw NotOurs(archive, $"its database fails SQLite's integrity check ({check})");
            var schema = Migrations.CurrentVersion(c);
            if (schema != manifest.SchemaVersion)
                throw NotOurs(archive, $"its database has schema version {schema} but the manifest says {manifest.SchemaVersion}");
        }
        catch (SqliteException e)
        {
            throw NotOurs(archive, $"its database cannot be opened by SQLite ({e.Message})");
        }
    }

    /// <summary>
    /// Moves the live database (with its -wal/-shm, which would otherwise be replayed into the restored file) and
    /// key ring aside into &lt;DataDir&gt;/pre-restore-TIMESTAMP, then the staged ones in. Renames only, all in the data
    /// dir's file system; a failure part way puts back what was moved. Returns the set-aside dir, or null if it was empty.
    /// </summary>
    static string? SwapIn(string dataDir, string staging)
    {
        var aside = Path.Combine(dataDir, $"pre-restore-{DateTime.UtcNow:yyyyMMdd'T'HHmmss'Z'}-{Guid.NewGuid().ToString("N")[..6]}");
        Directory.CreateDirectory(aside, OwnerOnlyDir);
        var done = new List<(string From, string To)>();
        void Move(string from, string to)
        {
            if (Directory.Exists(from)) Directory.Move(from, to);
            else if (File.Exists(from)) File.Move(from, to);
            else return;
            done.Add((from, to));
        }
        try
        {
            foreach (var name in LiveEntries) Move(Path.Combine(dataDir, name), Path.Combine(aside, name));
            Move(Path.Combine(staging, "keys"), Path.Combine(dataDir, "keys"));
            Move(Path.Combine(staging, BackupManifest.DatabaseEntry), Path.Combine(dataDir, BackupManifest.DatabaseEntry));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            for (var i = done.Count - 1; i >= 0; i--)
            {
                if (Directory.Exists(done[i].To)) Directory.Move(done[i].To, done[i].From);
                else File.Move(done[i].To, done[i].From);
            }
            Directory.Delete(aside, recursive: true);
            throw new BackupException($"the restore failed while swapping files into {dataDir} and was undone: {e.Message}");
        }
        // An archive from a panel that never made a key still leaves a key ring dir the panel can write to.
        Directory.CreateDirectory(Path.Combine(dataDir, "keys"), OwnerOnlyDir);
        if (Directory.EnumerateFileSystemEntries(aside).Any()) return aside;
        Directory.Delete(aside);
        return null;
    }
}

using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using Dapper;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Cli;
using VpsPanel.Features.Data;
using VpsPanel.Features.Settings;
using VpsPanel.Features.Shared;

namespace VpsPanel.Features.Backups;

/// <summary>A backup or restore that cannot go on; the message says why and what to do. Nothing was changed.</summary>
public sealed class BackupException(string message, int exitCode = ExitCodes.Failed) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

public sealed record BackupEntry(string Path, long Size, string Sha256);

/// <summary>
/// manifest.json, the first entry of every archive: what made it, which schema its database has, and the size and
/// SHA-256 of every other entry, so a restore can prove the archive whole before it touches anything.
/// </summary>
public sealed record BackupManifest(string Format, int FormatVersion, string PanelVersion, int SchemaVersion, string CreatedAt, List<BackupEntry> Files)
{
    public const string FormatName = "vpspanel-backup";
    public const int CurrentFormatVersion = 1;
    public const string EntryName = "manifest.json";
    public const string DatabaseEntry = "vpspanel.db";
    public const string SettingsEntry = "settings/appsettings.json";
    public const string KeysPrefix = "keys/";

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };
}

/// <summary>
/// One backup archive (tar.gz): an online copy of the SQLite database made with SQLite's backup API (one consistent
/// snapshot even while the panel writes), the Data Protection key ring (without it nothing the panel encrypted can
/// be read again), and the settings file. Used by the daily job and by `vpspanel backup`.
/// </summary>
public static class MakeBackup
{
    public const string FilePrefix = "vpspanel-backup-";
    public const string FileSuffix = ".tar.gz";
    const UnixFileMode OwnerOnlyDir = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Writes the archive and returns its full path. destination: a directory, a new file path, or null for &lt;DataDir&gt;/backups.</summary>
    public static async Task<string> CreateAsync(PanelSettings settings, string? destination, CancellationToken ct = default)
    {
        if (!File.Exists(settings.DatabasePath))
            throw new BackupException($"there is no panel database at {settings.DatabasePath}, so there is nothing to back up (is the data dir right? use --data-dir)");
        var target = TargetFile(settings, destination);
        var dir = Path.GetDirectoryName(target)!;
        var work = Path.Combine(dir, $".backup-{Guid.NewGuid():N}");
        // The work dir sits next to the archive so the final rename stays in one file system; a PATH in /proc, on a
        // read-only mount or in someone else's directory fails here, before anything was copied.
        try { Directory.CreateDirectory(work, OwnerOnlyDir); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new BackupException($"cannot write a backup into {dir} (the PATH argument, or <DataDir>/backups): {DataDirCheck.Cause(e)}", ExitCodes.PathArgument);
        }
        try
        {
            // Everything is copied into the work dir first, so the hashes in the manifest and the archived bytes
            // come from the same files even if the panel rotates a key meanwhile.
            var schema = CopyDatabase(settings.DatabasePath, Path.Combine(work, BackupManifest.DatabaseEntry));
            var entries = new List<string> { BackupManifest.DatabaseEntry };
            if (Directory.Exists(settings.KeysDir))
            {
                Directory.CreateDirectory(Path.Combine(work, "keys"), OwnerOnlyDir);
                foreach (var key in Directory.GetFiles(settings.KeysDir, "*.xml").Order(StringComparer.Ordinal))
                {
                    var name = BackupManifest.KeysPrefix + Path.GetFileName(key);
                    File.Copy(key, Path.Combine(work, name));
                    entries.Add(name);
                }
            }
            if (File.Exists(PanelSettings.EtcSettingsFile))
            {
                Directory.CreateDirectory(Path.Combine(work, "settings"), OwnerOnlyDir);
                File.Copy(PanelSettings.EtcSettingsFile, Path.Combine(work, BackupManifest.SettingsEntry));
                entries.Add(BackupManifest.SettingsEntry);
            }

            var manifest = new BackupManifest(BackupManifest.FormatName, BackupManifest.CurrentFormatVersion, CliApp.Version, schema,
                DateTimeOffset.UtcNow.ToString("O"), entries.Select(e => Describe(work, e)).ToList());
            var partial = Path.Combine(work, "archive" + FileSuffix);
            await WriteArchiveAsync(partial, work, manifest, ct);
            // rename(2) within one directory: the archive appears whole or not at all, never half written.
            File.Move(partial, target, overwrite: false);
        }
        catch (SqliteException e)
        {
            throw new BackupException($"could not copy the database {settings.DatabasePath}: {e.Message}");
        }
        catch (UnauthorizedAccessException e)
        {
            throw new BackupException($"permission denied while making the backup ({e.Message}); run it as the panel's user, e.g. sudo -u vpspanel vpspanel backup");
        }
        catch (IOException e)
        {
            throw new BackupException($"could not write the backup {target}: {DataDirCheck.Cause(e)}", ExitCodes.PathArgument);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
        await GiveToDataDirOwnerAsync(settings.DataDir, [target], ct);
        return target;
    }

    /// <summary>Deletes the oldest archives in &lt;DataDir&gt;/backups beyond `keep`; returns what it deleted.</summary>
    public static List<string> PruneOldBackups(PanelSettings settings)
    {
        if (!Directory.Exists(settings.BackupsDir)) return [];
        // Names carry a sortable UTC timestamp, so name order is age order; files named otherwise are left alone.
        var old = Directory.GetFiles(settings.BackupsDir, FilePrefix + "*" + FileSuffix)
            .OrderByDescending(f => Path.GetFileName(f), StringComparer.Ordinal)
            .Skip(settings.BackupKeep)
            .ToList();
        foreach (var f in old) File.Delete(f);
        return old;
    }

    public static bool IsInBackupsDir(PanelSettings settings, string file) =>
        Path.GetDirectoryName(Path.GetFullPath(file)) == Path.GetFullPath(settings.BackupsDir);

    static string TargetFile(PanelSettings settings, string? destination)
    {
        string dir;
        if (destination is null or "")
        {
            dir = settings.BackupsDir;
            if (!Directory.Exists(dir))
            {
                Directory.CreateDirectory(dir, OwnerOnlyDir);
                GiveToDataDirOwnerAsync(settings.DataDir, [dir], CancellationToken.None).GetAwaiter().GetResult();
            }
        }
        else if (Directory.Exists(destination))
            dir = destination;
        else
        {
            var file = Path.GetFullPath(destination);
            if (File.Exists(file)) throw new BackupException($"{file} already exists; a backup never overwrites a file (give a new name or a directory)");
            if (!Directory.Exists(Path.GetDirectoryName(file)))
                throw new BackupException($"the directory {Path.GetDirectoryName(file)} does not exist");
            return file;
        }
        // A UTC timestamp to the millisecond: sortable, and two backups in one second still get two names.
        while (true)
        {
            var name = Path.Combine(Path.GetFullPath(dir), $"{FilePrefix}{DateTime.UtcNow:yyyyMMdd'T'HHmmssfff'Z'}{FileSuffix}");
            if (!File.Exists(name)) return name;
            Thread.Sleep(2);
        }
    }

    /// <summary>SQLite's online backup API into a fresh file, turned into a standalone rollback-journal database; returns its schema version.</summary>
    static int CopyDatabase(string source, string copy)
    {
        using var src = Db.OpenFile(source);
        using var dst = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = copy, Pooling = false }.ToString());
        dst.Open();
        // One step over all pages: SQLite reads them inside one read transaction, which in WAL mode never blocks the
        // panel's writers and sees exactly one committed state.
        src.BackupDatabase(dst);
        // A single file without -wal/-shm companions; the panel switches it back to WAL when it opens it.
        dst.Execute("PRAGMA journal_mode = DELETE;");
        var check = dst.ExecuteScalar<string>("PRAGMA integrity_check;");
        if (check != "ok") throw new BackupException($"the copy of {source} fails SQLite's integrity check ({check}); the live database may be damaged");
        return Migrations.CurrentVersion(dst);
    }

    static BackupEntry Describe(string work, string name)
    {
        using var f = File.OpenRead(Path.Combine(work, name));
        return new BackupEntry(name, f.Length, Convert.ToHexStringLower(SHA256.HashData(f)));
    }

    static async Task WriteArchiveAsync(string path, string work, BackupManifest manifest, CancellationToken ct)
    {
        // 0600 from creation: the archive holds the key ring, which decrypts every secret the panel keeps.
        await using var file = new FileStream(path, new FileStreamOptions
            { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = OwnerOnlyFile });
        await using (var gz = new GZipStream(file, CompressionLevel.Optimal, leaveOpen: true))
        await using (var tar = new TarWriter(gz, TarEntryFormat.Pax, leaveOpen: true))
        {
            var json = JsonSerializer.SerializeToUtf8Bytes(manifest, BackupManifest.Json);
            await tar.WriteEntryAsync(Entry(BackupManifest.EntryName, new MemoryStream(json)), ct);
            foreach (var e in manifest.Files)
            {
                await using var data = File.OpenRead(Path.Combine(work, e.Path));
                await tar.WriteEntryAsync(Entry(e.Path, data), ct);
            }
        }
        await file.FlushAsync(ct);
        file.Flush(flushToDisk: true);
    }

    static PaxTarEntry Entry(string name, Stream data) => new(TarEntryType.RegularFile, name)
    {
        DataStream = data,
        Mode = OwnerOnlyFile,
        ModificationTime = DateTimeOffset.UtcNow,
    };

    /// <summary>
    /// Run as root (sudo vpspanel backup/restore), files would belong to root and the panel's own user could not use or
    /// prune them; hand them to whoever owns the data dir.
    /// </summary>
    public static async Task GiveToDataDirOwnerAsync(string dataDir, IEnumerable<string> paths, CancellationToken ct)
    {
        if (!Environment.IsPrivilegedProcess) return;
        var list = paths.Where(p => File.Exists(p) || Directory.Exists(p)).ToList();
        if (list.Count == 0) return;
        var r = await Proc.RunAsync("chown", ["-R", $"--reference={dataDir}", "--", .. list], TimeSpan.FromMinutes(1), ct);
        if (!r.Ok) throw new BackupException($"could not give {string.Join(", ", list)} to the owner of {dataDir}: {r.Stderr.Trim()}");
    }
}

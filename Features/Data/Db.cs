using System.Reflection;
using Dapper;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Data;

/// <summary>Opens connections to the panel's SQLite file. No pooling layer of our own: Microsoft.Data.Sqlite pools.</summary>
public sealed class Db(PanelSettings settings)
{
    static Db() => DefaultTypeMap.MatchNamesWithUnderscores = true;

    const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    public const UnixFileMode OwnerOnlyDir = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    const int SqliteDbConfigNoCheckpointOnClose = 1016; // SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE

    public string Path => settings.DatabasePath;

    /// <summary>
    /// Set for the Db the CLI uses (CliApp.OpenDb): its connections never checkpoint on close, so closing them can
    /// never delete the -wal and -shm files of the database.
    ///
    /// Why: when the last connection to a WAL database closes, SQLite checkpoints and deletes -wal and -shm. It decides
    /// it is the last one by taking an EXCLUSIVE fcntl lock on vpspanel.db, which every other open connection blocks
    /// with its SHARED lock. But POSIX fcntl locks belong to the process and the file, and closing ANY descriptor of
    /// that file drops ALL of the process's locks on it. When the panel packed a build context that reached its data
    /// dir (issue 11, finding 1), it opened and closed vpspanel.db, -wal and -shm to tar them: its SQLite connections
    /// stayed open but held no lock any more. The next `vpspanel user list` then got the EXCLUSIVE lock on close,
    /// believed it was alone, checkpointed and unlinked -wal and -shm while the panel still had them open and mapped:
    /// the panel's later writes went into an unlinked WAL (500 "disk I/O error", a token answered 201 and was never
    /// stored, everything since the last checkpoint gone after a restart). Reproduced with two python3 sqlite3
    /// processes: an open()+close() of the files in the holder, then a close in the other process, removes both files;
    /// without the open()+close(), or with a read-only or no-checkpoint-on-close connection, they stay.
    /// The context packer no longer opens anything outside the checkout (Docker/BuildContext); this is the second wall.
    /// Measured limit (tests/Data/CliWalTests): when the panel's locks are ALREADY gone, a read-only connection keeps
    /// the files, but a writing CLI command (user add) still removed them despite this flag (SQLite took the database
    /// for its own and reset the WAL on open); only the first wall prevents that.
    /// </summary>
    public bool NeverCheckpointOnClose { get; init; }

    public SqliteConnection Open() => OpenFile(settings.DatabasePath, NeverCheckpointOnClose);

    /// <summary>A read-only connection: SQLite refuses a checkpoint through it, so its close can never remove -wal/-shm either.</summary>
    public SqliteConnection OpenReadOnly() => OpenFile(settings.DatabasePath, neverCheckpointOnClose: true, SqliteOpenMode.ReadOnly);

    public static SqliteConnection OpenFile(string path, bool neverCheckpointOnClose = false, SqliteOpenMode mode = SqliteOpenMode.ReadWriteCreate)
    {
        var c = new SqliteConnection(ConnectionStrings.GetOrAdd((path, mode), static k => new SqliteConnectionStringBuilder
        {
            DataSource = k.Path,
            Mode = k.Mode,
            ForeignKeys = true,
            // Microsoft.Data.Sqlite retries SQLITE_BUSY for up to this many seconds: our busy timeout.
            DefaultTimeout = 10,
            Pooling = true,
        }.ToString()));
        try { SetUpHandle(c, path, neverCheckpointOnClose, mode); }
        catch { c.Dispose(); throw; }
        return c;
    }

    static void SetUpHandle(SqliteConnection c, string path, bool neverCheckpointOnClose, SqliteOpenMode mode)
    {
        c.Open();
        // The pool hands back the same SQLite handle, and what is set below stays set on it: set it once per handle,
        // and again only if this open asks for the other checkpoint-on-close. (Microsoft.Data.Sqlite itself runs its
        // PRAGMA foreign_keys on every open, so a handle that came back with them off is repaired anyway.)
        var handle = c.Handle!;
        var known = SetUp.TryGetValue(handle, out var setUpWith);
        if (known && setUpWith!.NeverCheckpointOnClose == neverCheckpointOnClose) return;
        if (neverCheckpointOnClose || known)
        {
            var rc = SQLitePCL.raw.sqlite3_db_config(handle, SqliteDbConfigNoCheckpointOnClose, neverCheckpointOnClose ? 1 : 0, out _);
            if (rc != SQLitePCL.raw.SQLITE_OK) throw new InvalidOperationException($"SQLite refused NO_CKPT_ON_CLOSE (rc {rc}) on {path}");
        }
        // SQLite's own busy wait (sleeps of 1, 2, 5, 10 ... ms) before Microsoft.Data.Sqlite's, which on SQLITE_BUSY
        // sleeps 150 ms and tries again: a write that met another connection's commit lost 150 ms for a lock held
        // well under one (issue 20: webhook pushes had a p99 of a second).
        if (!known) c.Execute(mode != SqliteOpenMode.ReadOnly ? "PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000;" : "PRAGMA busy_timeout = 10000;");
        SetUp.AddOrUpdate(handle, new HandleSetUp(neverCheckpointOnClose));
    }

    // Issue 20: building the connection string and running the two PRAGMAs on every open were 3% of a page view's CPU
    // (perf, bench/pages.sh project page): the string is made once per file and mode, the PRAGMAs once per handle.
    static readonly System.Collections.Concurrent.ConcurrentDictionary<(string Path, SqliteOpenMode Mode), string> ConnectionStrings = new();
    sealed record HandleSetUp(bool NeverCheckpointOnClose);
    static readonly System.Runtime.CompilerServices.ConditionalWeakTable<SQLitePCL.sqlite3, HandleSetUp> SetUp = new();

    /// <summary>
    /// Creates the data dir (0700), switches the file to WAL and applies pending migrations. The database is created
    /// 0600 (SQLite gives -wal and -shm the mode of the database file) and an older install's files are narrowed to it.
    /// </summary>
    public static void Prepare(PanelSettings settings, bool neverCheckpointOnClose = false)
    {
        Directory.CreateDirectory(settings.DataDir);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(settings.DataDir, OwnerOnlyDir);
            if (!File.Exists(settings.DatabasePath))
                new FileStream(settings.DatabasePath, new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.Write, UnixCreateMode = OwnerOnlyFile }).Dispose();
            foreach (var f in new[] { settings.DatabasePath, settings.DatabasePath + "-wal", settings.DatabasePath + "-shm" })
                if (File.Exists(f) && File.GetUnixFileMode(f) != OwnerOnlyFile) File.SetUnixFileMode(f, OwnerOnlyFile);
            // Made 0700 where they are created (deploy logs, git mirrors, deploy keys, checkouts); older installs made them 0755.
            foreach (var d in new[] { "logs", "repos", "ssh", "builds" }.Select(n => System.IO.Path.Combine(settings.DataDir, n)))
                if (Directory.Exists(d) && File.GetUnixFileMode(d) != OwnerOnlyDir) File.SetUnixFileMode(d, OwnerOnlyDir);
        }
        using var c = OpenFile(settings.DatabasePath, neverCheckpointOnClose);
        c.Execute("PRAGMA journal_mode = WAL;");
        Migrations.Apply(c);
        Docker.PanelIdentity.Ensure(c, settings);
    }
}

/// <summary>
/// Numbered .sql files embedded in the binary (Features/Data/Migrations/NNNN_name.sql), applied in order,
/// one transaction each, tracked in PRAGMA user_version. Append-only: never edit a shipped migration.
/// </summary>
public static class Migrations
{
    public sealed record Migration(int Version, string Name, string Sql);

    public static IReadOnlyList<Migration> Embedded { get; } = LoadEmbedded();

    static List<Migration> LoadEmbedded()
    {
        var asm = Assembly.GetExecutingAssembly();
        var list = new List<Migration>();
        foreach (var name in asm.GetManifestResourceNames().Where(n => n.StartsWith("migrations/", StringComparison.Ordinal)))
        {
            var file = name["migrations/".Length..];
            var version = int.Parse(file[..file.IndexOf('_')]);
            using var s = asm.GetManifestResourceStream(name)!;
            list.Add(new Migration(version, file, new StreamReader(s).ReadToEnd()));
        }
        list.Sort((a, b) => a.Version.CompareTo(b.Version));
        for (var i = 0; i < list.Count; i++)
            if (list[i].Version != i + 1) throw new InvalidOperationException($"migration numbering has a gap or duplicate at {list[i].Name}");
        return list;
    }

    /// <summary>The first line of a migration that must run with foreign keys off (see <see cref="Apply(SqliteConnection, IReadOnlyList{Migration})"/>).</summary>
    public const string ForeignKeysOffMarker = "-- foreign_keys: off";

    public static int CurrentVersion(SqliteConnection c) => c.ExecuteScalar<int>("PRAGMA user_version;");

    /// <summary>Applies what is pending; returns how many were applied. Refuses a schema newer than the binary.</summary>
    public static int Apply(SqliteConnection c) => Apply(c, Embedded);

    public static int Apply(SqliteConnection c, IReadOnlyList<Migration> migrations)
    {
        var current = CurrentVersion(c);
        var latest = migrations.Count == 0 ? 0 : migrations[^1].Version;
        if (current > latest)
            throw new StartupException(
                $"the database {c.DataSource} has schema version {current}, but this vpspanel binary only knows up to {latest}. " +
                "It was written by a newer vpspanel: install that version again (or restore a backup made by this version).");
        var applied = 0;
        foreach (var m in migrations.Where(m => m.Version > current))
        {
            // A migration that rebuilds a table other tables reference (SQLite's "12-step" ALTER) must run with
            // foreign keys off, or DROP TABLE deletes the rows first and cascades; the pragma is a no-op inside a
            // transaction, so it is switched here, and the keys are checked before the commit instead.
            var foreignKeysOff = m.Sql.StartsWith(ForeignKeysOffMarker, StringComparison.Ordinal);
            if (foreignKeysOff) c.Execute("PRAGMA foreign_keys = OFF;");
            try
            {
                using var tx = c.BeginTransaction();
                c.Execute(m.Sql, transaction: tx);
                if (foreignKeysOff && c.Query("PRAGMA foreign_key_check;", transaction: tx).Any())
                    throw new InvalidOperationException("it left rows whose foreign keys point nowhere");
                c.Execute($"PRAGMA user_version = {m.Version};", transaction: tx);
                tx.Commit();
                applied++;
            }
            catch (Exception e)
            {
                throw new StartupException($"migration {m.Name} failed and was rolled back: {e.Message}");
            }
            finally
            {
                if (foreignKeysOff) c.Execute("PRAGMA foreign_keys = ON;");
            }
        }
        return applied;
    }
}

using System.Reflection;
using Dapper;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Data;

/// <summary>Opens connections to the panel's SQLite file. No pooling layer of our own: Microsoft.Data.Sqlite pools.</summary>
public sealed class Db(PanelSettings settings)
{
    static Db() => DefaultTypeMap.MatchNamesWithUnderscores = true;

    public string Path => settings.DatabasePath;

    public SqliteConnection Open() => OpenFile(settings.DatabasePath);

    public static SqliteConnection OpenFile(string path)
    {
        var c = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = path,
            ForeignKeys = true,
            // Microsoft.Data.Sqlite retries SQLITE_BUSY for up to this many seconds: our busy timeout.
            DefaultTimeout = 10,
            Pooling = true,
        }.ToString());
        c.Open();
        c.Execute("PRAGMA synchronous = NORMAL;");
        return c;
    }

    /// <summary>Creates the data dir (0700), switches the file to WAL and applies pending migrations.</summary>
    public static void Prepare(PanelSettings settings)
    {
        Directory.CreateDirectory(settings.DataDir);
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(settings.DataDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        using var c = OpenFile(settings.DatabasePath);
        c.Execute("PRAGMA journal_mode = WAL;");
        Migrations.Apply(c);
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
            using var tx = c.BeginTransaction();
            try
            {
                c.Execute(m.Sql, transaction: tx);
                c.Execute($"PRAGMA user_version = {m.Version};", transaction: tx);
                tx.Commit();
                applied++;
            }
            catch (Exception e)
            {
                throw new StartupException($"migration {m.Name} failed and was rolled back: {e.Message}");
            }
        }
        return applied;
    }
}

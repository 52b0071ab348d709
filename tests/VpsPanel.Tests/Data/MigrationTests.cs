using Dapper;
using Microsoft.Extensions.Configuration;
using VpsPanel.Features.Data;
using VpsPanel.Features.Settings;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Data;

public sealed class MigrationTests : IDisposable
{
    readonly string _dir = Paths.NewTempDir();
    string DbPath => Path.Combine(_dir, "test.db");

    [Fact]
    public void An_empty_database_gets_every_migration_and_a_rerun_is_a_no_op()
    {
        using var c = Db.OpenFile(DbPath);
        var applied = Migrations.Apply(c);
        Assert.Equal(Migrations.Embedded.Count, applied);
        Assert.Equal(Migrations.Embedded[^1].Version, Migrations.CurrentVersion(c));
        Assert.Equal(0L, c.ExecuteScalar<long>("SELECT count(*) FROM users"));

        var schemaBefore = c.Query<string>("SELECT sql FROM sqlite_master ORDER BY name").ToList();
        Assert.Equal(0, Migrations.Apply(c));
        Assert.Equal(schemaBefore, c.Query<string>("SELECT sql FROM sqlite_master ORDER BY name").ToList());
    }

    [Fact]
    public void A_database_newer_than_the_binary_is_refused_with_a_clear_message()
    {
        using var c = Db.OpenFile(DbPath);
        Migrations.Apply(c);
        c.Execute("PRAGMA user_version = 999;");
        var e = Assert.Throws<StartupException>(() => Migrations.Apply(c));
        Assert.Contains("schema version 999", e.Message);
        Assert.Contains("newer vpspanel", e.Message);
        Assert.Equal(999, Migrations.CurrentVersion(c));
    }

    [Fact]
    public void A_failing_migration_rolls_back_entirely()
    {
        using var c = Db.OpenFile(DbPath);
        var migrations = new List<Migrations.Migration>
        {
            new(1, "0001_ok.sql", "CREATE TABLE a (x INTEGER);"),
            new(2, "0002_bad.sql", "CREATE TABLE b (x INTEGER); INSERT INTO nowhere VALUES (1);"),
        };
        var e = Assert.Throws<StartupException>(() => Migrations.Apply(c, migrations));
        Assert.Contains("0002_bad.sql", e.Message);
        Assert.Equal(1, Migrations.CurrentVersion(c));
        Assert.Equal(0L, c.ExecuteScalar<long>("SELECT count(*) FROM sqlite_master WHERE name = 'b'"));
    }

    [Fact]
    public async Task The_panel_refuses_to_start_on_a_newer_schema_and_says_why()
    {
        using (var c = Db.OpenFile(Path.Combine(_dir, "vpspanel.db")))
        {
            Migrations.Apply(c);
            c.Execute("PRAGMA user_version = 999;");
        }
        var r = await PanelCli.RunAsync(["--urls", $"http://127.0.0.1:{Paths.FreePort()}"], env: new Dictionary<string, string> { ["Panel__DataDir"] = _dir });
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("schema version 999", r.Stderr);
    }

    [Fact]
    public void The_database_is_in_WAL_mode_with_foreign_keys_on()
    {
        var settings = PanelSettings.Load(new Microsoft.Extensions.Configuration.ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Panel:DataDir"] = _dir }).Build());
        Db.Prepare(settings);
        using var c = new Db(settings).Open();
        Assert.Equal("wal", c.ExecuteScalar<string>("PRAGMA journal_mode;"));
        Assert.Equal(1, c.ExecuteScalar<int>("PRAGMA foreign_keys;"));
        Assert.True(c.ExecuteScalar<int>("PRAGMA busy_timeout;") >= 0);
    }

    public void Dispose() => Paths.DeleteQuietly(_dir);
}

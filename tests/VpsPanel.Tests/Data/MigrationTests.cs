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
    public void The_deployments_rebuild_keeps_every_row_and_reference_and_ids_never_come_back()
    {
        using var c = Db.OpenFile(DbPath);
        var upTo13 = Migrations.Embedded.Where(m => m.Version <= 13).ToList();
        Migrations.Apply(c, upTo13);
        c.Execute("""
            INSERT INTO users (id, email, password_hash, role, security_stamp, created_at, updated_at) VALUES (1, 'a@example.com', 'x', 'admin', 's', 't', 't');
            INSERT INTO projects (id, name, slug, owner_id, git_url, branch, container_port, created_at, updated_at) VALUES (1, 'p', 'p', 1, '/r.git', 'main', 80, 't', 't');
            INSERT INTO deployments (id, project_id, status, trigger, requested_by, config_json, created_at, requested_via) VALUES (1, 1, 'retired', 'manual', 1, '{}', 't', 'web');
            INSERT INTO deployments (id, project_id, status, trigger, rollback_of, config_json, created_at) VALUES (2, 1, 'live', 'rollback', 1, '{}', 't');
            INSERT INTO deployment_steps (deployment_id, step, started_at) VALUES (1, 'building', 't'), (2, 'starting', 't');
            INSERT INTO webhook_deliveries (project_id, received_at, outcome, reason, deployment_id) VALUES (1, 't', 'queued', 'r', 2);
            """);
        var before = c.Query<string>("SELECT id || status || coalesce(rollback_of, '') || coalesce(requested_via, '') FROM deployments ORDER BY id").ToList();

        Assert.Equal(Migrations.Embedded.Count - 13, Migrations.Apply(c));

        // Nothing cascaded away or was set to null by the DROP TABLE (foreign keys were off), and they are on again.
        Assert.Equal(before, c.Query<string>("SELECT id || status || coalesce(rollback_of, '') || coalesce(requested_via, '') FROM deployments ORDER BY id").ToList());
        Assert.Equal(2L, c.ExecuteScalar<long>("SELECT count(*) FROM deployment_steps"));
        Assert.Equal(2L, c.ExecuteScalar<long>("SELECT deployment_id FROM webhook_deliveries"));
        Assert.Equal(1L, c.ExecuteScalar<long>("PRAGMA foreign_keys"));
        Assert.Empty(c.Query("PRAGMA foreign_key_check"));
        Assert.Equal(1L, c.ExecuteScalar<long>("SELECT count(*) FROM sqlite_master WHERE name = 'deployments_one_live_per_project'"));
        // AUTOINCREMENT: the highest id ever used is remembered, so deleting the newest rows does not free their ids.
        c.Execute("DELETE FROM deployments WHERE id = 2");
        var next = c.ExecuteScalar<long>("INSERT INTO deployments (project_id, status, trigger, config_json, created_at) VALUES (1, 'queued', 'manual', '{}', 't') RETURNING id");
        Assert.Equal(3L, next);
        Assert.Equal(0L, c.ExecuteScalar<long>("SELECT count(*) FROM deployment_steps WHERE deployment_id = 2"));
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

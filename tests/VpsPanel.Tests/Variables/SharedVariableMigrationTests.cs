using Dapper;
using VpsPanel.Features.Data;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Variables;

/// <summary>Shared variables from before they had rules become admins' projects only, and members' includers are told to redeploy.</summary>
public sealed class SharedVariableMigrationTests : IDisposable
{
    readonly string _dir = Paths.NewTempDir();

    [Fact]
    public void Existing_shared_variables_become_admins_only_owned_by_the_first_admin()
    {
        using var c = Db.OpenFile(Path.Combine(_dir, "test.db"));
        var before = Migrations.Embedded.TakeWhile(m => !m.Name.EndsWith("_shared_variable_access.sql", StringComparison.Ordinal)).ToList();
        Assert.True(before.Count < Migrations.Embedded.Count, "the shared variable access migration is embedded");
        Migrations.Apply(c, before);
        c.Execute(
            """
            INSERT INTO users (id, email, password_hash, role, security_stamp, created_at, updated_at) VALUES
              (1, 'member@example.com', 'x', 'member', 's', 'now', 'now'),
              (2, 'admin@example.com', 'x', 'admin', 's', 'now', 'now');
            INSERT INTO projects (id, name, slug, owner_id, git_url, branch, container_port, created_at, updated_at) VALUES
              (10, 'theirs', 'theirs', 1, 'https://git.example.com/a.git', 'main', 8080, 'now', 'now'),
              (20, 'ours', 'ours', 2, 'https://git.example.com/b.git', 'main', 8080, 'now', 'now');
            INSERT INTO variables (project_id, key, value_protected, secret, position, updated_at) VALUES
              (NULL, 'DB_PASSWORD', 'ciphertext', 1, 0, 'now');
            INSERT INTO project_shared_variables (project_id, key) VALUES (10, 'DB_PASSWORD'), (20, 'DB_PASSWORD');
            """);

        Migrations.Apply(c);

        Assert.Equal(("admins", 2L), c.QuerySingle<(string, long)>("SELECT mode, owner_id FROM shared_variable_access WHERE key = 'DB_PASSWORD'"));
        Assert.Equal(0L, c.ExecuteScalar<long>("SELECT count(*) FROM shared_variable_grants"));
        // The member's project is behind (its live container may hold the value); the admin's is not.
        Assert.Equal([(10L, 1L), (20L, 0L)], c.Query<(long, long)>("SELECT id, variables_version FROM projects ORDER BY id").ToList());
        // The include itself is kept: an admin who opens the variable again restores it.
        Assert.Equal(2L, c.ExecuteScalar<long>("SELECT count(*) FROM project_shared_variables"));
    }

    public void Dispose() => Paths.DeleteQuietly(_dir);
}

using Dapper;
using VpsPanel.Features.Data;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Data;

/// <summary>
/// Issue 11, finding 2, the second wall: even when the process holding the database has lost its SQLite locks (any
/// open()+close() of vpspanel.db, -wal or -shm in that process drops all of its fcntl locks on them), a read-only CLI
/// command (user list) never checkpoints and removes -wal and -shm on exit.
/// </summary>
public sealed class CliWalTests
{
    [Fact]
    public async Task The_CLI_user_list_never_removes_the_WAL_files_of_a_database_another_process_holds_even_with_its_locks_dropped()
    {
        var dir = Paths.NewTempDir();
        try
        {
            var add = await PanelCli.RunAsync(["user", "add", "--email", "first@example.com", "--data-dir", dir], "first password 12\n");
            Assert.True(add.ExitCode == 0, add.Stderr);
            var db = Path.Combine(dir, "vpspanel.db");
            using var holder = Db.OpenFile(db);
            Assert.Equal(1, holder.ExecuteScalar<int>("SELECT count(*) FROM users"));
            Assert.True(File.Exists(db + "-wal") && File.Exists(db + "-shm"));
            // What packing a data-dir build context did in the panel: read and close the files, dropping this
            // process's fcntl locks while its connection stays open.
            foreach (var f in new[] { db, db + "-wal", db + "-shm" }) File.ReadAllBytes(f);

            var list = await PanelCli.RunAsync(["user", "list", "--data-dir", dir]);
            Assert.True(list.ExitCode == 0, list.Stderr);
            Assert.Contains("first@example.com", list.Stdout);
            Assert.True(File.Exists(db + "-wal"), "user list removed -wal");
            Assert.True(File.Exists(db + "-shm"), "user list removed -shm");

            Assert.Equal(1, holder.ExecuteScalar<int>("SELECT count(*) FROM users"));
            holder.Execute("UPDATE users SET email = email");
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Paths.DeleteQuietly(dir);
        }
    }
}

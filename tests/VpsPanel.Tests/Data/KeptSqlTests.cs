using Dapper;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Data;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Data;

/// <summary>
/// Data/KeptSql (issue 20): on a kept connection a statement is compiled once and run again with new values each
/// time, inside and outside transactions, after a constraint error too; on any other connection the same calls go
/// through Dapper. Against a real SQLite file, as the panel uses it.
/// </summary>
public sealed class KeptSqlTests
{
    public sealed record Row(long Id, string Name);

    [Fact]
    public void A_kept_connection_runs_each_statement_again_with_new_values_and_gives_what_Dapper_gives()
    {
        var dir = Paths.NewTempDir();
        try
        {
            var file = Path.Combine(dir, "kept.db");
            using var kept = Db.OpenFile(file);
            using var plain = Db.OpenFile(file);
            kept.Execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, note TEXT)");
            KeptSql.Keep(kept);

            const string insert = "INSERT INTO t (name, note) VALUES (@name, @note) RETURNING id";
            const string find = "SELECT id, name FROM t WHERE name = @name";
            for (var i = 1; i <= 3; i++)
            {
                using var tx = kept.BeginTransaction();
                Assert.Equal(i, KeptSql.Scalar<long>(kept, insert, new { name = $"n{i}", note = (string?)null }, tx));
                tx.Commit();
            }
            // A constraint error leaves the kept statement usable for the next values.
            var e = Assert.Throws<SqliteException>(() => KeptSql.Scalar<long>(kept, insert, new { name = "n1", note = "again" }, null));
            Assert.Equal(19, e.SqliteErrorCode);
            Assert.Equal(4, KeptSql.Scalar<long>(kept, insert, new { name = "n4", note = "x" }, null));

            Assert.Equal(new Row(2, "n2"), KeptSql.FirstOrDefault<Row>(kept, find, new { name = "n2" }, null));
            Assert.Null(KeptSql.FirstOrDefault<Row>(kept, find, new { name = "none" }, null));
            Assert.Equal(1, KeptSql.Execute(kept, "UPDATE t SET note = @note WHERE id = @id", new { id = 3L, note = "changed" }, null));
            Assert.Equal(0, KeptSql.Execute(kept, "UPDATE t SET note = @note WHERE id = @id", new { id = 99L, note = "none" }, null));

            // Another connection takes the same calls through Dapper and sees the same rows.
            Assert.Equal(new Row(4, "n4"), KeptSql.FirstOrDefault<Row>(plain, find, new { name = "n4" }, null));
            Assert.Equal("changed", KeptSql.Scalar<string>(plain, "SELECT note FROM t WHERE id = @id", new { id = 3L }, null));
            Assert.Null(KeptSql.Scalar<string>(plain, "SELECT note FROM t WHERE id = @id", new { id = 1L }, null));

            // KeepWhile keeps only for its scope, and leaves a connection that is kept already as it was.
            using (KeptSql.KeepWhile(plain))
                for (var i = 5; i <= 6; i++) Assert.Equal(i, KeptSql.Scalar<long>(plain, insert, new { name = $"n{i}", note = "loop" }, null));
            using (KeptSql.KeepWhile(kept)) { }
            Assert.Equal(7, KeptSql.Scalar<long>(kept, insert, new { name = "n7", note = (string?)null }, null));
            Assert.Equal(7, plain.ExecuteScalar<long>("SELECT count(*) FROM t"));
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(dir, recursive: true);
        }
    }
}

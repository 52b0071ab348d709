using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;
using Dapper;
using Microsoft.Data.Sqlite;

namespace VpsPanel.Features.Data;

/// <summary>
/// Statements kept prepared on a long-lived connection. Microsoft.Data.Sqlite keeps a statement compiled only for as
/// long as its SqliteCommand lives, and Dapper makes a new command per call, so every call parses and plans its SQL
/// again. On the webhook writer's kept connection (Webhooks/WebhookEndpoint.Writer) that compiling was about 13% of
/// a push flood's CPU (issue 20, perf: the SQLite parser, resolver and planner). A connection marked with
/// <see cref="Keep"/> runs the statements that go through here on one command per SQL text, kept as long as the
/// connection; on any other connection they run through Dapper as before. Parameters come from an object's
/// properties, as with Dapper (<c>new { id, status }</c> binds <c>@id</c> and <c>@status</c>).
/// </summary>
public static class KeptSql
{
    static readonly ConditionalWeakTable<SqliteConnection, Dictionary<string, SqliteCommand>> Kept = new();

    /// <summary>Keeps the commands of the statements run through here on <paramref name="c"/> (one thread at a time uses it).</summary>
    public static void Keep(SqliteConnection c) => Kept.AddOrUpdate(c, new Dictionary<string, SqliteCommand>(StringComparer.Ordinal));

    /// <summary>
    /// Keeps them only until the result is disposed (then the commands go): for a loop running the same statements on a
    /// connection that is not kept. Nothing changes for a connection that is kept already.
    /// </summary>
    public static IDisposable? KeepWhile(SqliteConnection c)
    {
        if (Kept.TryGetValue(c, out _)) return null;
        Keep(c);
        return new Forget(c);
    }

    sealed class Forget(SqliteConnection c) : IDisposable
    {
        public void Dispose()
        {
            if (!Kept.TryGetValue(c, out var commands)) return;
            Kept.Remove(c);
            foreach (var cmd in commands.Values) cmd.Dispose();
        }
    }

    public static int Execute(SqliteConnection c, string sql, object param, SqliteTransaction? tx) =>
        Command(c, sql, param, tx) is { } cmd ? cmd.ExecuteNonQuery() : c.Execute(sql, param, tx);

    public static T? Scalar<T>(SqliteConnection c, string sql, object param, SqliteTransaction? tx)
    {
        if (Command(c, sql, param, tx) is not { } cmd) return c.ExecuteScalar<T>(sql, param, tx);
        var value = cmd.ExecuteScalar();
        return value is null or DBNull ? default : (T)Convert.ChangeType(value, Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T), CultureInfo.InvariantCulture);
    }

    /// <summary>The first row mapped as Dapper maps it (Dapper's row parser over the kept command's reader), or default.</summary>
    public static T? FirstOrDefault<T>(SqliteConnection c, string sql, object param, SqliteTransaction? tx)
    {
        if (Command(c, sql, param, tx) is not { } cmd) return c.QueryFirstOrDefault<T>(sql, param, tx);
        using var reader = cmd.ExecuteReader();
        return reader.Read() ? reader.GetRowParser<T>()(reader) : default;
    }

    static SqliteCommand? Command(SqliteConnection c, string sql, object param, SqliteTransaction? tx)
    {
        if (!Kept.TryGetValue(c, out var commands)) return null;
        if (!commands.TryGetValue(sql, out var cmd))
        {
            cmd = c.CreateCommand();
            cmd.CommandText = sql;
            commands[sql] = cmd;
        }
        cmd.Transaction = tx;
        // New values each time: the statement stays compiled; values are bound when it runs.
        cmd.Parameters.Clear();
        foreach (var (name, get) in Properties.GetOrAdd(param.GetType(), ReadProperties))
            cmd.Parameters.AddWithValue(name, get(param) ?? DBNull.Value);
        return cmd;
    }

    static readonly ConcurrentDictionary<Type, (string Name, Func<object, object?> Get)[]> Properties = new();

    // The parameter objects are anonymous types of this assembly, which is never trimmed (VpsPanel.csproj).
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "Anonymous types of the untrimmed app assembly.")]
    static (string, Func<object, object?>)[] ReadProperties(Type type) =>
        [.. type.GetProperties().Select(p => ("@" + p.Name, (Func<object, object?>)p.GetValue))];
}

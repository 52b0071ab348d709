using System.Text.Json;
using System.Text.Json.Serialization;
using Dapper;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Shared;

namespace VpsPanel.Features.Variables;

/// <summary>
/// A variable in the clear. Lives in memory only: the database holds <see cref="VariableRow"/>s. <paramref name="FromShared"/>
/// marks a shared variable in a deployment's snapshot, so a rollback can leave out one the project may no longer use.
/// </summary>
public sealed record Variable(string Key, string Value, bool Secret, bool BuildTime, bool Runtime, bool FromShared = false)
{
    /// <summary>What a page or the API may show: the value, or the mask for a secret.</summary>
    public string Shown => Secret ? SecretMask.Mask : Value;
}

/// <summary>A variables row: the value is Data Protection ciphertext. Init properties so Dapper maps INTEGER to bool.</summary>
public sealed record VariableRow
{
    public string Key { get; init; } = "";
    public string ValueProtected { get; init; } = "";
    public bool Secret { get; init; }
    public bool BuildTime { get; init; }
    public bool Runtime { get; init; }
}

/// <summary>
/// A variable as a person or a script sent it, before validation. A null value, or the mask itself, means "keep the
/// stored value": secrets are never sent to the browser, so a form that shows ******** sends ******** back.
/// <paramref name="Where"/> names the input in errors ("line 3", "item 2").
/// </summary>
public sealed record VariableInput(string Key, string? Value, bool Secret, bool BuildTime, bool Runtime, string Where);

/// <summary>
/// Project and shared variables: validation, encryption, the SQL, and what a deployment gets. A scope is a project id,
/// or null for the panel-wide shared set.
/// </summary>
public static class VariableStore
{
    /// <summary>The Data Protection purpose for stored values; a protector for anything else cannot read them.</summary>
    public const string ValuePurpose = "VpsPanel.Variables.Value.v1";
    /// <summary>The purpose for the snapshot a deployment keeps in its config_json.</summary>
    public const string SnapshotPurpose = "VpsPanel.Variables.Snapshot.v1";
    /// <summary>
    /// All values of one project together. Build-time values travel to Docker in the build request's query string,
    /// and run-time ones in the container's environment: both have limits well above this, none far above.
    /// </summary>
    public const int MaxTotalChars = 128 * 1024;

    // ---- validation --------------------------------------------------------------------------------------------

    /// <summary>
    /// Turns inputs into the new set, or the errors (each naming its input). Nothing is saved by the caller unless the
    /// whole set is valid.
    /// </summary>
    public static (List<Variable> Set, List<string> Errors) Validate(IReadOnlyList<VariableInput> inputs, IReadOnlyList<Variable> stored)
    {
        var errors = new List<string>();
        var set = new List<Variable>();
        var old = stored.ToDictionary(v => v.Key, StringComparer.Ordinal);
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var i in inputs)
        {
            var key = i.Key.Trim();
            if (DotEnv.KeyProblem(key) is { } kp)
            {
                errors.Add($"{i.Where}: {kp}");
                continue;
            }
            if (seen.TryGetValue(key, out var first))
            {
                errors.Add($"{i.Where}: {key} is already set on {first}");
                continue;
            }
            seen[key] = i.Where;
            string value;
            if (i.Value is null || i.Value == SecretMask.Mask)
            {
                if (old.GetValueOrDefault(key) is not { Secret: true } kept)
                {
                    errors.Add($"{i.Where}: {SecretMask.Mask} stands for a hidden secret, but {key} has no stored secret value; enter the value");
                    continue;
                }
                if (!i.Secret)
                {
                    errors.Add($"{i.Where}: to make {key} not secret, enter its value again (a hidden value is never turned visible)");
                    continue;
                }
                value = kept.Value;
            }
            else value = i.Value;
            if (ValueProblem(key, value, i.Secret) is { } vp)
            {
                errors.Add($"{i.Where}: {vp}");
                continue;
            }
            if (!i.BuildTime && !i.Runtime)
            {
                errors.Add($"{i.Where}: {key} must be available at build time, at run time, or both");
                continue;
            }
            set.Add(new Variable(key, value, i.Secret, i.BuildTime, i.Runtime));
        }
        if (inputs.Count > DotEnv.MaxVariables) errors.Add($"at most {DotEnv.MaxVariables} variables, found {inputs.Count}");
        else if (set.Sum(v => v.Key.Length + v.Value.Length) > MaxTotalChars)
            errors.Add($"all variables together may be at most {MaxTotalChars / 1024} KiB");
        return (errors.Count == 0 ? set : [], errors);
    }

    static string? ValueProblem(string key, string value, bool secret)
    {
        if (value.Length > DotEnv.MaxValueLength) return $"the value of {key} is longer than {DotEnv.MaxValueLength / 1024} KiB";
        // A process environment is a list of C strings: a NUL would silently cut the value short.
        if (value.Contains('\0')) return $"the value of {key} contains a NUL character, which no environment can hold";
        if (secret && value.Length < SecretMask.MinLength)
            return $"the secret {key} is shorter than {SecretMask.MinLength} characters; such a short value cannot be hidden in logs without garbling them, so make it longer or not secret";
        if (secret && value.Contains(SecretMask.Mask))
            return $"the value of {key} contains {SecretMask.Mask}, which is how the panel shows hidden values; choose another value";
        return null;
    }

    /// <summary>Keys whose value or flags differ between two sets, including added and removed ones.</summary>
    public static HashSet<string> ChangedKeys(IReadOnlyList<Variable> before, IReadOnlyList<Variable> after)
    {
        var a = before.ToDictionary(v => v.Key, StringComparer.Ordinal);
        var b = after.ToDictionary(v => v.Key, StringComparer.Ordinal);
        var changed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (k, v) in a) if (!b.TryGetValue(k, out var w) || w != v) changed.Add(k);
        foreach (var k in b.Keys) if (!a.ContainsKey(k)) changed.Add(k);
        return changed;
    }

    // ---- SQL -----------------------------------------------------------------------------------------------------

    public static List<Variable> ListVariables(SqliteConnection c, IDataProtectionProvider protection, long? projectId, SqliteTransaction? tx = null)
    {
        var p = protection.CreateProtector(ValuePurpose);
        return c.Query<VariableRow>(
                "SELECT key, value_protected, secret, build_time, runtime FROM variables WHERE project_id IS @projectId ORDER BY position, key",
                new { projectId }, tx)
            .Select(r => new Variable(r.Key, p.Unprotect(r.ValueProtected), r.Secret, r.BuildTime, r.Runtime)).ToList();
    }

    /// <summary>
    /// Replaces a scope's set and marks whoever it affects as needing a redeploy: the project itself, or for the shared
    /// set every project that includes a changed key. Returns the changed keys (empty: nothing was written).
    /// <paramref name="actorId"/>: the admin saving the shared set, who owns the keys it adds.
    /// </summary>
    public static HashSet<string> ReplaceVariables(SqliteConnection c, IDataProtectionProvider protection, long? projectId, List<Variable> set, long? actorId = null)
    {
        var p = protection.CreateProtector(ValuePurpose);
        using var tx = c.BeginTransaction();
        var changed = ChangedKeys(ListVariables(c, protection, projectId, tx), set);
        if (changed.Count == 0) return changed;
        var now = Clock.Now();
        c.Execute("DELETE FROM variables WHERE project_id IS @projectId", new { projectId }, tx);
        for (var i = 0; i < set.Count; i++)
        {
            var v = set[i];
            c.Execute(
                """
                INSERT INTO variables (project_id, key, value_protected, secret, build_time, runtime, position, updated_at)
                VALUES (@projectId, @Key, @value, @Secret, @BuildTime, @Runtime, @i, @now)
                """,
                new { projectId, v.Key, value = p.Protect(v.Value), v.Secret, v.BuildTime, v.Runtime, i, now }, tx);
        }
        if (projectId is { } id) MarkRedeployNeeded(c, id, tx);
        else
        {
            SharedVariableAccess.SyncWithSharedSet(c, actorId, tx);
            c.Execute(
                """
                UPDATE projects SET variables_version = variables_version + 1
                WHERE id IN (SELECT project_id FROM project_shared_variables WHERE key IN @keys)
                """, new { keys = changed }, tx);
        }
        tx.Commit();
        return changed;
    }

    static void MarkRedeployNeeded(SqliteConnection c, long projectId, SqliteTransaction tx) =>
        c.Execute("UPDATE projects SET variables_version = variables_version + 1 WHERE id = @projectId", new { projectId }, tx);

    public static List<string> ListIncludedSharedKeys(SqliteConnection c, long projectId, SqliteTransaction? tx = null) =>
        c.Query<string>("SELECT key FROM project_shared_variables WHERE project_id = @projectId ORDER BY key", new { projectId }, tx).AsList();

    /// <summary>Sets which shared variables a project includes; unknown keys are refused by the caller.</summary>
    public static bool ReplaceIncludedSharedKeys(SqliteConnection c, long projectId, IReadOnlyCollection<string> keys)
    {
        using var tx = c.BeginTransaction();
        var before = ListIncludedSharedKeys(c, projectId, tx);
        if (before.ToHashSet().SetEquals(keys)) return false;
        c.Execute("DELETE FROM project_shared_variables WHERE project_id = @projectId", new { projectId }, tx);
        foreach (var key in keys)
            c.Execute("INSERT INTO project_shared_variables (project_id, key) VALUES (@projectId, @key)", new { projectId, key }, tx);
        MarkRedeployNeeded(c, projectId, tx);
        tx.Commit();
        return true;
    }

    public static Dictionary<string, int> CountIncludersByKey(SqliteConnection c) =>
        c.Query<(string Key, int Count)>("SELECT key, count(*) FROM project_shared_variables GROUP BY key ORDER BY key")
            .ToDictionary(r => r.Key, r => r.Count);

    /// <summary>The project's id when it exists and the user may see it (admins see all), by slug for the API.</summary>
    public static long? FindProjectIdBySlugVisibleTo(SqliteConnection c, string slug, long userId, bool isAdmin) =>
        c.ExecuteScalar<long?>("SELECT id FROM projects WHERE slug = @slug AND (@isAdmin OR owner_id = @userId)", new { slug, userId, isAdmin });

    /// <summary>An environment's counts its project's changes too: both only grow, so their sum moves with either.</summary>
    public static long FindVariablesVersion(SqliteConnection c, long projectId) =>
        c.ExecuteScalar<long>(
            "SELECT p.variables_version + coalesce((SELECT variables_version FROM projects WHERE id = p.parent_id), 0) FROM projects p WHERE p.id = @projectId",
            new { projectId });

    static long? FindParentId(SqliteConnection c, long projectId) =>
        c.ExecuteScalar<long?>("SELECT parent_id FROM projects WHERE id = @projectId", new { projectId });

    /// <summary>The shared variables this project may see and include (<see cref="SharedVariableAccess"/>).</summary>
    public static List<Variable> ListSharedVariablesUsableByProject(SqliteConnection c, IDataProtectionProvider protection, long projectId)
    {
        var usable = SharedVariableAccess.ListKeysUsableByProject(c, projectId);
        return ListVariables(c, protection, null).Where(v => usable.Contains(v.Key)).ToList();
    }

    /// <summary>
    /// What a deployment of the project gets now: the included shared variables it may still use, overridden by those of
    /// linked services (Services/ServiceLinkVariables), overridden by the project's own of the same key. Shared ones no longer defined, or no longer open to the project, are skipped.
    /// </summary>
    public static List<Variable> ResolveEffectiveVariables(SqliteConnection c, IDataProtectionProvider protection, long projectId)
    {
        var included = ListIncludedSharedKeys(c, projectId).ToHashSet(StringComparer.Ordinal);
        var own = ListVariables(c, protection, projectId);
        // A preview (Previews/PreviewDeploys) gets the project's "preview" environment's variables only, never
        // production's, and none of their secrets when it is a fork's request the project does not trust.
        if (Previews.PreviewDeploys.FindVariableSource(c, projectId) is var (templateId, withoutSecrets))
        {
            own = UnderOwn(own, templateId is { } t ? ListVariables(c, protection, t) : []);
            return withoutSecrets ? own.Where(v => !v.Secret).ToList() : own;
        }
        // An environment (Projects/ProjectEnvironments) inherits its project's variables and shared includes; its own win.
        if (FindParentId(c, projectId) is { } parent)
        {
            included.UnionWith(ListIncludedSharedKeys(c, parent));
            own = UnderOwn(own, ListVariables(c, protection, parent));
        }
        var ownKeys = own.Select(v => v.Key).ToHashSet(StringComparer.Ordinal);
        var fromServices = Services.ServiceLinkVariables.ForProject(c, protection, projectId).Select(f => f.Variable).Where(v => !ownKeys.Contains(v.Key)).ToList();
        var shared = ListSharedVariablesUsableByProject(c, protection, projectId)
            .Where(v => included.Contains(v.Key) && !ownKeys.Contains(v.Key) && fromServices.All(f => f.Key != v.Key))
            .Select(v => v with { FromShared = true });
        return [.. shared, .. fromServices, .. own];
    }

    /// <summary>The inherited variables whose keys the row does not set itself, then its own.</summary>
    static List<Variable> UnderOwn(List<Variable> own, List<Variable> inherited)
    {
        var mine = own.Select(v => v.Key).ToHashSet(StringComparer.Ordinal);
        return [.. inherited.Where(v => !mine.Contains(v.Key)), .. own];
    }

    /// <summary>
    /// Every secret value the project's logs must never show: its own, its included shared ones, and those of the
    /// deployment's variables snapshot when given.
    /// </summary>
    public static SecretMask CurrentMask(SqliteConnection c, IDataProtectionProvider protection, long projectId, string? snapshot = null)
    {
        var vars = ResolveEffectiveVariables(c, protection, projectId);
        // A container keeps printing the values it was started with: a secret changed since (and not redeployed yet)
        // is no longer a current one, yet must stay masked in that deployment's logs.
        if (snapshot is not null) vars.AddRange(UnprotectSnapshot(protection, snapshot));
        return DeployVariables.MaskOf(vars);
    }

    // ---- snapshots -------------------------------------------------------------------------------------------------

    public static string ProtectSnapshot(IDataProtectionProvider protection, List<Variable> vars) =>
        protection.CreateProtector(SnapshotPurpose).Protect(JsonSerializer.Serialize(vars, VariableJson.Default.ListVariable));

    public static List<Variable> UnprotectSnapshot(IDataProtectionProvider protection, string snapshot) =>
        JsonSerializer.Deserialize(protection.CreateProtector(SnapshotPurpose).Unprotect(snapshot), VariableJson.Default.ListVariable) ?? [];
}

[JsonSerializable(typeof(List<Variable>))]
internal partial class VariableJson : JsonSerializerContext;

using System.Security.Cryptography;
using Dapper;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Projects;

namespace VpsPanel.Features.Variables;

/// <summary>
/// The variables a deployment runs with. A new deployment takes its snapshot when it starts (whatever queued it:
/// the Deploy button, a redeploy, a webhook), stored encrypted in its config_json; a rollback copies the old
/// deployment's config, snapshot included, so it restores the old values, not today's.
/// </summary>
public static class DeployVariables
{
    public static (ProjectConfig Config, List<Variable> Vars) ForDeployment(
        SqliteConnection c, IDataProtectionProvider protection, long deploymentId, long projectId, ProjectConfig config, Action<string>? note = null)
    {
        try
        {
            if (config.Variables is { } snapshot)
                return (config, WithoutClosedShared(c, projectId, VariableStore.UnprotectSnapshot(protection, snapshot), note));
            // The version is read first: a change that lands while we resolve leaves the project marked, never unmarked.
            var version = VariableStore.FindVariablesVersion(c, projectId);
            var vars = VariableStore.ResolveEffectiveVariables(c, protection, projectId);
            config = config with { Variables = VariableStore.ProtectSnapshot(protection, vars), VariablesVersion = version };
            c.Execute("UPDATE deployments SET config_json = @json WHERE id = @deploymentId", new { json = config.ToJson(), deploymentId });
            return (config, vars);
        }
        catch (CryptographicException e)
        {
            throw new Deployments.DeployFailure($"the variables cannot be decrypted ({e.Message}); was the key ring in <DataDir>/keys replaced or lost?");
        }
    }

    /// <summary>
    /// A rollback's old snapshot minus the shared variables the project may no longer use: an admin who closes a shared
    /// variable expects no later deployment of that project to get it, rollbacks included. Snapshots taken before
    /// shared variables had rules do not mark which values came from the shared set; there a value is dropped when its
    /// key is a shared variable closed to the project and the project has no variable of its own by that name now.
    /// </summary>
    static List<Variable> WithoutClosedShared(SqliteConnection c, long projectId, List<Variable> vars, Action<string>? note)
    {
        var shared = c.Query<string>("SELECT key FROM variables WHERE project_id IS NULL").ToHashSet(StringComparer.Ordinal);
        var usable = SharedVariableAccess.ListKeysUsableByProject(c, projectId);
        var own = c.Query<string>("SELECT key FROM variables WHERE project_id = @projectId", new { projectId }).ToHashSet(StringComparer.Ordinal);
        var kept = vars.Where(v => v.FromShared
            ? usable.Contains(v.Key)
            : !(shared.Contains(v.Key) && !usable.Contains(v.Key) && !own.Contains(v.Key))).ToList();
        foreach (var v in vars.Except(kept))
            note?.Invoke($"left out the shared variable {v.Key}: it is no longer open to this project");
        return kept;
    }

    public static SecretMask MaskOf(IEnumerable<Variable> vars) => new(vars.Where(v => v.Secret).Select(v => v.Value));

    public static Dictionary<string, string> BuildArgs(IEnumerable<Variable> vars) =>
        vars.Where(v => v.BuildTime).ToDictionary(v => v.Key, v => v.Value, StringComparer.Ordinal);

    public static List<string> Environment(IEnumerable<Variable> vars) =>
        vars.Where(v => v.Runtime).Select(v => $"{v.Key}={v.Value}").ToList();

    /// <summary>True when the live deployment runs with other variables than a deploy would get now.</summary>
    public static bool RedeployNeeded(SqliteConnection c, long projectId, string? liveConfigJson) =>
        liveConfigJson is not null && ProjectConfig.FromJson(liveConfigJson).VariablesVersion != VariableStore.FindVariablesVersion(c, projectId);
}

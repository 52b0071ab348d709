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
        SqliteConnection c, IDataProtectionProvider protection, long deploymentId, long projectId, ProjectConfig config)
    {
        try
        {
            if (config.Variables is { } snapshot) return (config, VariableStore.UnprotectSnapshot(protection, snapshot));
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

    public static SecretMask MaskOf(IEnumerable<Variable> vars) => new(vars.Where(v => v.Secret).Select(v => v.Value));

    public static Dictionary<string, string> BuildArgs(IEnumerable<Variable> vars) =>
        vars.Where(v => v.BuildTime).ToDictionary(v => v.Key, v => v.Value, StringComparer.Ordinal);

    public static List<string> Environment(IEnumerable<Variable> vars) =>
        vars.Where(v => v.Runtime).Select(v => $"{v.Key}={v.Value}").ToList();

    /// <summary>True when the live deployment runs with other variables than a deploy would get now.</summary>
    public static bool RedeployNeeded(SqliteConnection c, long projectId, string? liveConfigJson) =>
        liveConfigJson is not null && ProjectConfig.FromJson(liveConfigJson).VariablesVersion != VariableStore.FindVariablesVersion(c, projectId);
}

using System.Security.Cryptography;
using System.Text;
using Dapper;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Settings;
using VpsPanel.Features.Shared;

namespace VpsPanel.Features.Docker;

/// <summary>
/// Which panel a container or image belongs to, so two panels on one Docker engine never touch each other's: it is
/// part of every container name (vpspanel-&lt;panel&gt;-&lt;slug&gt;-&lt;deployment&gt;) and image tag
/// (vpspanel/&lt;panel&gt;-&lt;slug&gt;:&lt;deployment&gt;), and the label vpspanel.panel=&lt;panel&gt; that every list,
/// remove, cleanup and reconcile filters by. Made once and kept in the database (panel_options), so a backup restored
/// elsewhere still knows its containers.
/// </summary>
public static class PanelIdentity
{
    public const string OptionKey = "panel.id";
    public const string Label = "vpspanel.panel";

    /// <summary>Gives the database its panel id if it has none yet (first start, or the first start after an upgrade).</summary>
    public static void Ensure(SqliteConnection c, PanelSettings settings)
    {
        if (FindPanelId(c) is not null) return;
        // Panels before this one named containers and images without a panel id and labelled them with a hash of the
        // data dir. A database that already has deployments adopts that value, so its live container, its retired
        // images (rollback) and its leftovers stay this panel's; their recorded names (deployments.container_name,
        // deployments.image) keep working as they are. A new database gets a random id.
        var upgraded = c.ExecuteScalar<bool>("SELECT EXISTS (SELECT 1 FROM deployments)");
        var id = upgraded ? LegacyId(settings.DataDir) : Convert.ToHexString(RandomNumberGenerator.GetBytes(6)).ToLowerInvariant();
        c.Execute("INSERT INTO panel_options (key, value, updated_at) VALUES (@key, @id, @now) ON CONFLICT (key) DO NOTHING",
            new { key = OptionKey, id, now = Clock.Now() });
    }

    public static string? FindPanelId(SqliteConnection c) =>
        c.QuerySingleOrDefault<string>("SELECT value FROM panel_options WHERE key = @key", new { key = OptionKey });

    /// <summary>This panel's id; Db.Prepare made it before anything runs.</summary>
    public static string Of(SqliteConnection c) =>
        FindPanelId(c) ?? throw new InvalidOperationException("the database has no panel id (Db.Prepare did not run)");

    /// <summary>The label value panels before the stored id put on their containers and images.</summary>
    public static string LegacyId(string dataDir) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(dataDir)))[..12].ToLowerInvariant();
}

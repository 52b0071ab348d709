using Dapper;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Shared;

namespace VpsPanel.Features.Settings;

/// <summary>
/// The settings an admin changes at runtime on the Settings page, kept in the database (table panel_options):
/// the wildcard base domain that gives every project a default domain, and the panel's own domain.
/// Empty means "not set". Values are canonical domains (they passed <see cref="Domains.DomainName"/>).
/// </summary>
public sealed record PanelOptions(string BaseDomain, string PanelDomain)
{
    public const string BaseDomainKey = "domains.base";
    public const string PanelDomainKey = "domains.panel";

    /// <summary>A project's default domain, &lt;slug&gt;.&lt;base&gt;, or null when no base domain is set.</summary>
    public string? DefaultDomain(string slug) => BaseDomain == "" ? null : $"{slug}.{BaseDomain}";

    public static PanelOptions Load(SqliteConnection c, SqliteTransaction? tx = null)
    {
        var all = c.Query<(string Key, string Value)>("SELECT key, value FROM panel_options", transaction: tx).ToDictionary(r => r.Key, r => r.Value);
        return new PanelOptions(all.GetValueOrDefault(BaseDomainKey, ""), all.GetValueOrDefault(PanelDomainKey, ""));
    }

    public void Save(SqliteConnection c, SqliteTransaction? tx = null)
    {
        Put(c, BaseDomainKey, BaseDomain, tx);
        Put(c, PanelDomainKey, PanelDomain, tx);
    }

    /// <summary>Sets one key of panel_options (other slices keep their own keys here too, e.g. Upgrades' upgrades.*).</summary>
    public static void Put(SqliteConnection c, string key, string value, SqliteTransaction? tx = null) =>
        c.Execute("INSERT INTO panel_options (key, value, updated_at) VALUES (@key, @value, @now) " +
                  "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at", new { key, value, now = Clock.Now() }, tx);
}

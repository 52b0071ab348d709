using System.CommandLine;
using System.Text.Json.Nodes;
using VpsPanel.Features.Cli;

namespace VpsPanel.Features.Settings;

/// <summary>
/// `vpspanel settings` and `vpspanel settings set wildcard-domain|panel-domain VALUE`: /api/settings through the
/// running panel (it applies the change to Caddy), so the rules and the access are the API's. Admin tokens only.
/// </summary>
public static class SettingsCommands
{
    public static Command Build()
    {
        var cmd = Services.ServiceCommands.Api(new Command("settings", "Print the panel settings kept in the database (admins): wildcard-domain and panel-domain, tab-separated"),
            async (api, _) => Print(await api.GetJsonAsync(HttpMethod.Get, "api/settings")));
        var set = new Command("set", "Change one setting through the running panel; it is applied to Caddy at once");
        set.Subcommands.Add(Set("wildcard-domain", SettingsApi.WildcardField, "The base of every project's default domain <slug>.<base>, e.g. apps.example.com"));
        set.Subcommands.Add(Set("panel-domain", SettingsApi.PanelField, "The domain Caddy serves the panel itself on, e.g. panel.example.com"));
        cmd.Subcommands.Add(set);
        return cmd;
    }

    static Command Set(string name, string field, string description)
    {
        var value = new Argument<string>("VALUE") { Description = "The domain; \"\" clears it" };
        return Services.ServiceCommands.Api(new Command(name, description) { value }, async (api, p) =>
            Print(await api.GetJsonAsync(HttpMethod.Put, "api/settings", new JsonObject { [field] = p.GetValue(value) ?? "" }.ToJsonString())));
    }

    static int Print(JsonNode settings)
    {
        Console.WriteLine($"wildcard-domain\t{settings[SettingsApi.WildcardField]}");
        Console.WriteLine($"panel-domain\t{settings[SettingsApi.PanelField]}");
        return 0;
    }
}

using System.Text.Json;
using VpsPanel.Features.Api;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Data;
using VpsPanel.Features.Domains;

namespace VpsPanel.Features.Settings;

/// <summary>
/// /api/settings (admins): the Settings page's two values, wildcardDomain (the base domain of the default domains)
/// and panelDomain. PUT saves exactly as the page does (<see cref="DomainSettingsSave"/>).
/// </summary>
public static class SettingsApi
{
    public const string WildcardField = "wildcardDomain", PanelField = "panelDomain";
    static readonly string[] Fields = [WildcardField, PanelField];

    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/settings", (HttpContext ctx, Db db) =>
        {
            if (!ctx.User.IsAdmin()) return OnlyAdmins();
            using var c = db.Open();
            return Results.Ok(Json(PanelOptions.Load(c)));
        }).WithSummary("The panel settings kept in the database (admins): wildcardDomain and panelDomain, \"\" when not set");

        api.MapPut("/settings", async (HttpContext ctx, Db db, DomainSites sites, CancellationToken ct) =>
        {
            if (!ctx.User.IsAdmin()) return OnlyAdmins();
            var (doc, error) = await ApiProblem.ReadJson<JsonDocument>(ctx.Request);
            if (error is not null) return error;
            using (doc)
            {
                var (given, problem) = Read(doc!.RootElement);
                if (problem is not null) return problem;
                using var c = db.Open();
                var now = PanelOptions.Load(c);
                var r = await DomainSettingsSave.SaveAsync(c, sites, ctx, given.GetValueOrDefault(WildcardField, now.BaseDomain),
                    given.GetValueOrDefault(PanelField, now.PanelDomain), (WildcardField, PanelField), ct);
                if (r.Invalid.Count > 0) return ApiProblem.Invalid(r.Invalid);
                if (r.Conflicts.Count > 0)
                    return ApiProblem.Result(409, string.Join(" ", r.Conflicts.Select(e => $"{e.Key}: {e.Value}")), r.Conflicts.ToDictionary(e => e.Key, e => new[] { e.Value }));
                if (r.CaddyRefused is { } refused) return ApiProblem.Result(502, refused);
                return Results.Ok(Json(r.Options));
            }
        }).WithSummary("Change the panel settings (admins); applied to Caddy at once")
          .WithDescription("JSON body: {\"wildcardDomain\"?: \"apps.example.com\" (or \"*.apps.example.com\"), \"panelDomain\"?: \"panel.example.com\"}. " +
              "A field left out stays as it is; \"\" clears it. Answers the stored values. 422 names the field that is wrong (or unknown), " +
              "409 a domain a project has, 502 a reload Caddy refused (nothing changed).");
    }

    static object Json(PanelOptions o) => new Dictionary<string, string> { [WildcardField] = o.BaseDomain, [PanelField] = o.PanelDomain };

    static IResult OnlyAdmins() => ApiProblem.Result(403, "Only admins can read or change the panel settings.");

    /// <summary>
    /// The fields of the body, each a string. Unknown fields are refused rather than ignored: a misspelt
    /// "wildcard_domain" would otherwise answer 200 and change nothing.
    /// </summary>
    static (Dictionary<string, string> Given, IResult? Problem) Read(JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object)
            return ([], ApiProblem.Result(400, $"Send a JSON object, like {{\"{WildcardField}\": \"apps.example.com\"}}, not {Kind(body.ValueKind)}."));
        var given = new Dictionary<string, string>();
        var errors = new Dictionary<string, string>();
        var seen = new HashSet<string>();
        foreach (var p in body.EnumerateObject())
        {
            // Case-insensitive, like the other endpoints' bodies (JsonSerializerDefaults.Web).
            var field = Fields.FirstOrDefault(f => string.Equals(f, p.Name, StringComparison.OrdinalIgnoreCase));
            if (field is null) errors[p.Name] = $"Unknown field; the fields are {WildcardField} and {PanelField}.";
            else if (!seen.Add(field)) errors[field] = "Given more than once.";
            else if (p.Value.ValueKind != JsonValueKind.String) errors[field] = $"Must be a JSON string (a domain, or \"\" to clear it), not {Kind(p.Value.ValueKind)}.";
            else given[field] = p.Value.GetString()!;
        }
        if (errors.Count > 0) return (given, ApiProblem.Invalid(errors));
        if (given.Count == 0) return (given, ApiProblem.Result(422, $"Nothing to change: send {WildcardField}, {PanelField} or both."));
        return (given, null);
    }

    static string Kind(JsonValueKind k) => k switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "true/false",
        JsonValueKind.Null => "null",
        _ => k.ToString().ToLowerInvariant(),
    };
}

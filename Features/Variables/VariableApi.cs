using Microsoft.AspNetCore.DataProtection;
using VpsPanel.Features.Api;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Data;

namespace VpsPanel.Features.Variables;

/// <summary>
/// GET and PUT /api/projects/{slug}/variables: the project's own variables, secrets masked on the way out. A PUT
/// replaces the whole set; a secret sent back as ******** (or with no value) keeps its stored value, so a script can
/// GET, change one entry and PUT without ever holding the other secrets.
/// </summary>
public static class VariableApi
{
    public sealed record VariableItem(string? Key, string? Value, bool? Secret, bool? BuildTime, bool? Runtime);

    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/projects/{slug}/variables", (string slug, HttpContext ctx, Db db, IDataProtectionProvider protection) =>
        {
            using var c = db.Open();
            if (VariableStore.FindProjectIdBySlugVisibleTo(c, slug, ctx.User.UserId(), ctx.User.IsAdmin()) is not { } id)
                return ApiProblem.NotFound($"Project {slug}");
            return Results.Ok(VariableStore.ListVariables(c, protection, id).Select(Json));
        }).WithSummary("The project's variables; secret values are masked as ********");

        api.MapPut("/projects/{slug}/variables", async (string slug, HttpContext ctx, Db db, IDataProtectionProvider protection) =>
        {
            using var c = db.Open();
            if (VariableStore.FindProjectIdBySlugVisibleTo(c, slug, ctx.User.UserId(), ctx.User.IsAdmin()) is not { } id)
                return ApiProblem.NotFound($"Project {slug}");
            var (body, error) = await ApiProblem.ReadJson<List<VariableItem?>>(ctx.Request);
            if (error is not null) return error;
            var stored = VariableStore.ListVariables(c, protection, id);
            var inputs = new List<VariableInput>();
            var errors = new List<string>();
            for (var i = 0; i < body!.Count; i++)
            {
                if (body[i] is not { } v) errors.Add($"item {i}: expected an object with key and value");
                else if (v.Key is null) errors.Add($"item {i}: the key is missing");
                else inputs.Add(new VariableInput(v.Key, v.Value, v.Secret ?? false, v.BuildTime ?? false, v.Runtime ?? true, $"item {i} ({v.Key})"));
            }
            var (set, invalid) = VariableStore.Validate(inputs, stored);
            errors.AddRange(invalid);
            if (errors.Count > 0)
                return ApiProblem.Result(422, "Nothing was saved: " + string.Join("; ", errors), new Dictionary<string, string[]> { ["variables"] = [.. errors] });
            if (VariableStore.ReplaceVariables(c, protection, id, set) is { Count: > 0 } changed) Audit.AuditLog.Record(c, ctx, "variables.change", slug, Audit.AuditLog.Keys(changed));
            return Results.Ok(set.Select(Json));
        }).WithSummary("Replace the project's variables with this list of {key, value, secret, buildTime, runtime}; a secret's value ******** keeps the stored one");
    }

    static object Json(Variable v) => new { key = v.Key, value = v.Shown, secret = v.Secret, buildTime = v.BuildTime, runtime = v.Runtime };
}

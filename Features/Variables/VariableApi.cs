using Microsoft.AspNetCore.DataProtection;
using VpsPanel.Features.Api;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Data;

namespace VpsPanel.Features.Variables;

/// <summary>
/// GET and PUT /api/projects/{slug}/variables: the project's own variables, secrets masked on the way out. A PUT
/// replaces the whole set; a secret sent back as ******** (or with no value) keeps its stored value, so a script can
/// GET, change one entry and PUT without ever holding the other secrets.
/// GET and PUT /api/projects/{slug}/shared-variables: the shared variables the project may use and which it includes,
/// by the same rule as the page (<see cref="SharedVariableAccess"/>).
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
        MapShared(api);
    }

    static void MapShared(RouteGroupBuilder api)
    {
        api.MapGet("/projects/{slug}/shared-variables", (string slug, HttpContext ctx, Db db, IDataProtectionProvider protection) =>
        {
            using var c = db.Open();
            if (VariableStore.FindProjectIdBySlugVisibleTo(c, slug, ctx.User.UserId(), ctx.User.IsAdmin()) is not { } id)
                return ApiProblem.NotFound($"Project {slug}");
            return Results.Ok(SharedJson(c, protection, id));
        }).WithSummary("The shared variables this project may use (secret values masked), each with whether the project includes it");

        api.MapPut("/projects/{slug}/shared-variables", async (string slug, HttpContext ctx, Db db, IDataProtectionProvider protection) =>
        {
            using var c = db.Open();
            if (VariableStore.FindProjectIdBySlugVisibleTo(c, slug, ctx.User.UserId(), ctx.User.IsAdmin()) is not { } id)
                return ApiProblem.NotFound($"Project {slug}");
            var (body, error) = await ApiProblem.ReadJson<List<string?>>(ctx.Request);
            if (error is not null) return error;
            var usable = SharedVariableAccess.ListKeysUsableByProject(c, id);
            var errors = body!.Select((k, i) => k is null ? $"item {i}: expected a key" : usable.Contains(k) ? null : $"item {i}: {ProjectModel.NotUsableMessage(k)}")
                .OfType<string>().ToList();
            if (errors.Count > 0)
                return ApiProblem.Result(422, "Nothing was saved: " + string.Join("; ", errors), new Dictionary<string, string[]> { ["keys"] = [.. errors] });
            VariableStore.ReplaceIncludedSharedKeys(c, id, body!.OfType<string>().Distinct().ToList());
            return Results.Ok(SharedJson(c, protection, id));
        }).WithSummary("Set which shared variables the project includes: a list of keys, each one the project may use (else 422 and nothing changes)");
    }

    static IEnumerable<object> SharedJson(Microsoft.Data.Sqlite.SqliteConnection c, IDataProtectionProvider protection, long projectId)
    {
        var included = VariableStore.ListIncludedSharedKeys(c, projectId).ToHashSet(StringComparer.Ordinal);
        return VariableStore.ListSharedVariablesUsableByProject(c, protection, projectId)
            .Select(v => new { key = v.Key, value = v.Shown, secret = v.Secret, buildTime = v.BuildTime, runtime = v.Runtime, included = included.Contains(v.Key) })
            .ToList();
    }

    static object Json(Variable v) => new { key = v.Key, value = v.Shown, secret = v.Secret, buildTime = v.BuildTime, runtime = v.Runtime };
}

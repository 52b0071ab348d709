using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Mvc;

namespace VpsPanel.Features.Api;

/// <summary>Every API error is application/problem+json with a detail a person can act on.</summary>
public static class ApiProblem
{
    static string Title(int status) => status switch
    {
        400 => "Bad request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not found",
        405 => "Method not allowed",
        408 => "Request timeout",
        409 => "Conflict",
        413 => "Payload too large",
        415 => "Unsupported media type",
        422 => "Invalid input",
        429 => "Too many requests",
        503 => "Service unavailable",
        _ => "Error",
    };

    public static IResult Result(int status, string detail, IDictionary<string, string[]>? errors = null)
    {
        var p = new ProblemDetails { Status = status, Title = Title(status), Detail = detail };
        if (errors is not null) p.Extensions["errors"] = errors;
        return Results.Problem(p);
    }

    public static IResult NotFound(string what) => Result(404, $"{what} does not exist, or you do not have access to it.");

    public static IResult Invalid(IDictionary<string, string> errors) =>
        Result(422, "Some fields are not valid: " + string.Join(" ", errors.Select(e => $"{e.Key}: {e.Value}")),
            errors.ToDictionary(e => e.Key, e => new[] { e.Value }));

    public static async Task Write(HttpContext ctx, int status, string detail)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/problem+json";
        await ctx.Response.WriteAsync(new JsonObject { ["type"] = $"https://httpstatuses.io/{status}", ["title"] = Title(status), ["status"] = status, ["detail"] = detail }.ToJsonString());
    }

    /// <summary>
    /// Reads a JSON body into <typeparamref name="T"/>. Malformed JSON or a wrong type is a 400 that says where,
    /// not the framework's empty 400.
    /// </summary>
    public static async Task<(T? Value, IResult? Error)> ReadJson<T>(HttpRequest request) where T : class
    {
        if (request.ContentType is null || !request.ContentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
            return (null, Result(415, "Send the body as JSON with `Content-Type: application/json`."));
        try
        {
            var value = await JsonSerializer.DeserializeAsync<T>(request.Body, JsonOptions);
            return value is null ? (null, Result(400, "The body is empty; send a JSON object.")) : (value, null);
        }
        catch (JsonException e) when (e.Path is { Length: > 2 } path && e.Message.StartsWith("The JSON value could not be converted", StringComparison.Ordinal))
        {
            // The serializer's own message names our C# type, which means nothing to the caller; the field does.
            return (null, Result(400, $"The field `{path[2..]}` ({path}) has the wrong JSON type (e.g. a number where text is expected). The shapes are in /api/openapi.json."));
        }
        catch (JsonException e)
        {
            return (null, Result(400, $"The body is not valid JSON for this request: {e.Message}"));
        }
    }

    public static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);
}

using System.Collections.Frozen;
using System.Reflection;
using Microsoft.AspNetCore.StaticFiles;

namespace VpsPanel.Features.Assets;

/// <summary>
/// Serves wwwroot (and htmx, copied from npm at build time) from resources embedded in the binary, so the
/// published executable runs alone in an empty folder. URLs carry ?v=&lt;version&gt;, so files can be cached for long.
/// </summary>
public static class EmbeddedAssets
{
    const string Prefix = "wwwroot/";
    static readonly Assembly Asm = typeof(EmbeddedAssets).Assembly;

    public static string Version { get; } =
        (Asm.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0").Split('+')[0] + "-" +
        Asm.ManifestModule.ModuleVersionId.ToString("N")[..8];

    static readonly FrozenSet<string> Names = Asm.GetManifestResourceNames()
        .Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)).Select(n => n[Prefix.Length..]).ToFrozenSet();

    static readonly FileExtensionContentTypeProvider Types = new();

    public static void Map(WebApplication app) =>
        app.MapMethods("/static/{**path}", ["GET", "HEAD"], (string path, HttpContext ctx) =>
        {
            if (!Names.Contains(path)) return Results.NotFound();
            var etag = $"\"{Version}\"";
            ctx.Response.Headers.CacheControl = "public, max-age=31536000, immutable";
            ctx.Response.Headers.ETag = etag;
            if (ctx.Request.Headers.IfNoneMatch == etag) return Results.StatusCode(StatusCodes.Status304NotModified);
            var type = Types.TryGetContentType(path, out var t) ? t : "application/octet-stream";
            return Results.Stream(Asm.GetManifestResourceStream(Prefix + path)!, type);
        }).AllowAnonymous();
}

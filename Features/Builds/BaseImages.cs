using System.Text.RegularExpressions;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Builds;

/// <summary>
/// The images a generated Dockerfile starts FROM, one setting each (Build:BaseImages:Node …). The defaults are the
/// official images; a server without registry access (or with its own mirror) names its own. Validated as an image
/// reference because the value is written into a Dockerfile's FROM line: a space or a newline there would be a second
/// instruction, not a name.
/// </summary>
public static partial class BaseImages
{
    // registry[:port]/ path components [:tag] [@sha256:digest], as `docker build` accepts them (lower-case names).
    [GeneratedRegex(@"^(?:[a-z0-9]+(?:[.-][a-z0-9]+)*(?::[0-9]{1,5})?/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[0-9a-f]{64})?\z")]
    private static partial Regex ReferencePattern();

    public static bool IsValidReference(string v) => v.Length <= 255 && ReferencePattern().IsMatch(v);

    /// <summary>The keys after "Build:BaseImages:", their default and what they are for (the README rows say the same).</summary>
    public static readonly (string Name, string Default, string Use)[] Images =
    [
        ("Node", "node:22-bookworm-slim", "Node apps (build and runtime; npm, and yarn/pnpm through corepack)"),
        ("Python", "python:3.12-slim", "Python apps (build and runtime)"),
        ("Go", "golang:1.23-bookworm", "Go builds"),
        ("GoRuntime", "gcr.io/distroless/static-debian12", "what a Go binary runs on (built with CGO_ENABLED=0)"),
        ("Rust", "rust:1-bookworm", "Rust builds"),
        ("RustRuntime", "debian:bookworm-slim", "what a Rust binary runs on"),
        ("DotNet", "mcr.microsoft.com/dotnet/sdk:8.0", ".NET builds (dotnet publish)"),
        ("DotNetRuntime", "mcr.microsoft.com/dotnet/aspnet:8.0", "what a published .NET web app runs on"),
        ("Php", "dunglas/frankenphp:1-php8.3", "PHP apps: a FrankenPHP image (it serves HTTP itself; PHP-FPM alone would need a web server in front)"),
        ("Composer", "composer:2", "installs a PHP app's composer dependencies"),
        ("Ruby", "ruby:3.3-slim", "Ruby apps (build and runtime)"),
        ("Static", "caddy:2-alpine", "static sites and built single-page apps: an image with Caddy reading /etc/caddy/Caddyfile"),
    ];

    public static IEnumerable<Setting> Settings => Images.Select(i => new Setting($"Build:BaseImages:{i.Name}", i.Default,
        $"an image reference such as {i.Default} (FROM of generated Dockerfiles: {i.Use})", IsValidReference));

    public static IReadOnlyDictionary<string, string> Defaults { get; } = Images.ToDictionary(i => i.Name, i => i.Default);

    /// <summary>The effective images from the validated settings values.</summary>
    public static IReadOnlyDictionary<string, string> From(IReadOnlyDictionary<string, string> values) =>
        Images.ToDictionary(i => i.Name, i => values.GetValueOrDefault($"Build:BaseImages:{i.Name}", i.Default));
}

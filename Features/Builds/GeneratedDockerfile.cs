using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace VpsPanel.Features.Builds;

/// <summary>A project's own install, build and start commands (null: what detection chose).</summary>
public sealed record BuildCommands(string? Install, string? Build, string? Start)
{
    public static readonly BuildCommands None = new(null, null, null);

    public const int MaxLength = 1000;

    /// <summary>
    /// Why a command cannot be used, or null. A command becomes one Dockerfile line: a newline would start another
    /// instruction and a trailing backslash would swallow the next line, so both are refused rather than escaped.
    /// </summary>
    public static string? Problem(string value, string what)
    {
        if (value.Length > MaxLength) return $"The {what} command can be at most {MaxLength} characters.";
        if (value.Any(char.IsControl)) return $"The {what} command must be one line (no line breaks or control characters).";
        if (value.EndsWith('\\')) return $"The {what} command may not end with a backslash.";
        return null;
    }
}

/// <summary>
/// Writes the Dockerfile for a <see cref="Detection"/>: a build stage whose package-manager cache is a BuildKit cache
/// mount (kept between builds, never in the image), then a small runtime stage with only what the app runs with,
/// <c>ENV PORT</c> and <c>EXPOSE</c> of the port it listens on. No heredocs and no <c># syntax=</c> line: BuildKit's
/// built-in frontend on Docker 20.10 parses neither, and a syntax line would make it pull a frontend image.
/// The text is a pure function of its inputs; the tests compare it exactly.
/// </summary>
public static class GeneratedDockerfile
{
    /// <summary>The file name the generated (or saved) Dockerfile gets in the build context; never in the cached repository.</summary>
    public const string FileName = ".vpspanel.Dockerfile";

    // Exec-form CMD is a JSON array; the relaxed encoder keeps && and quotes readable (\u0026 is valid JSON, but not for people).
    static readonly BuildJson Json = new(new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

    /// <summary>The reasons of the detection plus what the project's own commands changed.</summary>
    public static List<string> Reasons(Detection d, BuildCommands commands)
    {
        var reasons = new List<string>(d.Reasons);
        var fixedSteps = d.Stack == "static";
        if (commands.Install is { } i) reasons.Add(fixedSteps ? $"install command \"{i}\" is not used: a static site has no install step" : $"install command from the project's settings: {i}");
        if (commands.Build is { } b) reasons.Add(fixedSteps ? $"build command \"{b}\" is not used: a static site without package.json has no build step" : $"build command from the project's settings: {b}");
        if (commands.Start is { } s) reasons.Add($"start command from the project's settings: {s}");
        return reasons;
    }

    /// <param name="port">the port the app listens on (the project's container port); null: the framework's default</param>
    /// <param name="cacheMounts">false for the classic builder, which refuses RUN --mount</param>
    public static string Render(Detection d, IReadOnlyDictionary<string, string> images, BuildCommands commands, int? port = null, bool cacheMounts = true)
    {
        var p = port ?? d.DefaultPort;
        var install = commands.Install ?? d.Install;
        var build = commands.Build ?? d.Build;
        var start = commands.Start is { } s ? ["sh", "-c", s] : d.Start;
        var w = new StringBuilder();
        void L(string line) => w.Append(line).Append('\n');
        string Run(string command, IEnumerable<string>? caches) =>
            "RUN " + (cacheMounts && caches is not null ? string.Concat(caches.Select(c => $"--mount=type=cache,target={c} ")) : "") + command;
        void Cmd(string[]? argv) { if (argv is not null) L("CMD " + JsonSerializer.Serialize(argv, Json.StringArray)); }
        void Copy(List<string>? files, string to) { if (files is { Count: > 0 }) L($"COPY {string.Join(' ', files)} {to}"); }
        void Port() { L($"ENV PORT={p}"); }
        string I(string name) => images[name];

        switch (d.Stack)
        {
            case "node":
                L($"FROM {I("Node")} AS build");
                L("WORKDIR /app");
                Copy(d.Manifests, "./");
                if (install is not null) L(Run(install, d.CacheTargets));
                L("COPY . .");
                if (build is not null) L(Run(build, null));
                if (d.OutputDir is { } output)
                {
                    L("");
                    L($"FROM {I("Static")}");
                    Port();
                    L(CaddyfileLine(spa: true));
                    L($"COPY --from=build /app/{output} /srv");
                    L($"EXPOSE {p}");
                    Cmd(commands.Start is null ? CaddyCmd : start);
                    break;
                }
                var slim = d.Framework is "Next.js standalone" or "Nuxt" && commands.Start is null;
                if (d.PackageManager == "npm" && !slim) L("RUN npm prune --omit=dev --no-audit --no-fund");
                L("");
                L($"FROM {I("Node")}");
                L("WORKDIR /app");
                L("ENV NODE_ENV=production");
                Port();
                if (d.Framework == "Next.js standalone" && commands.Start is null)
                {
                    L("ENV HOSTNAME=0.0.0.0");
                    L("COPY --from=build /app/.next/standalone ./");
                    L("COPY --from=build /app/.next/static ./.next/static");
                    if (d.HasPublicDir) L("COPY --from=build /app/public ./public");
                }
                else if (d.Framework == "Nuxt" && commands.Start is null) L("COPY --from=build /app/.output ./.output");
                else
                {
                    if (d.Framework == "Astro") L("ENV HOST=0.0.0.0");
                    L("COPY --from=build /app ./");
                }
                L($"EXPOSE {p}");
                Cmd(start);
                break;

            case "python":
                var stages = install is not null || build is not null;
                if (stages)
                {
                    L($"FROM {I("Python")} AS build");
                    L("WORKDIR /app");
                    L("RUN python3 -m venv /venv");
                    L("ENV PATH=/venv/bin:$PATH");
                    Copy(d.Manifests, "./");
                    // pip install . needs the whole project; requirements.txt alone keeps the install cached across code changes.
                    if (d.Manifests is not { Count: > 0 }) L("COPY . .");
                    if (install is not null) L(Run(install, d.CacheTargets));
                    if (d.Manifests is { Count: > 0 }) L("COPY . .");
                    if (build is not null) L(Run(build, null));
                    L("");
                }
                L($"FROM {I("Python")}");
                L("WORKDIR /app");
                L("ENV PYTHONUNBUFFERED=1");
                if (stages) L("ENV PATH=/venv/bin:$PATH");
                Port();
                if (stages)
                {
                    L("COPY --from=build /venv /venv");
                    L("COPY --from=build /app ./");
                }
                else L("COPY . .");
                L($"EXPOSE {p}");
                Cmd(start);
                break;

            case "go":
                L($"FROM {I("Go")} AS build");
                L("WORKDIR /src");
                L("ENV CGO_ENABLED=0 GOMODCACHE=/go/pkg/mod GOCACHE=/root/.cache/go-build");
                Copy(d.Manifests, "./");
                if (install is not null) L(Run(install, d.CacheTargets));
                L("COPY . .");
                if (build is not null) L(Run(build, [.. d.CacheTargets ?? [], "/root/.cache/go-build"]));
                L("");
                L($"FROM {I("GoRuntime")}");
                Port();
                L("COPY --from=build /out/app /app");
                L($"EXPOSE {p}");
                Cmd(start);
                break;

            case "rust":
                L($"FROM {I("Rust")} AS build");
                L("WORKDIR /src");
                L("COPY . .");
                if (install is not null) L(Run(install, d.CacheTargets));
                if (build is not null) L(Run(build, d.CacheTargets));
                L("");
                L($"FROM {I("RustRuntime")}");
                Port();
                L("COPY --from=build /out/app /usr/local/bin/app");
                L($"EXPOSE {p}");
                Cmd(start);
                break;

            case "dotnet":
                L($"FROM {I("DotNet")} AS build");
                L("WORKDIR /src");
                L("COPY . .");
                if (install is not null) L(Run(install, d.CacheTargets));
                if (build is not null) L(Run(build, d.CacheTargets));
                L("");
                L($"FROM {I("DotNetRuntime")}");
                L("WORKDIR /app");
                Port();
                L($"ENV ASPNETCORE_URLS=http://+:{p}");
                L("COPY --from=build /out ./");
                L($"EXPOSE {p}");
                Cmd(start);
                break;

            case "php":
                L($"FROM {I("Composer")} AS vendor");
                L("WORKDIR /app");
                L("COPY . .");
                if (install is not null) L(Run(install, d.CacheTargets));
                L("");
                L($"FROM {I("Php")}");
                L("WORKDIR /app");
                Port();
                // FrankenPHP's Caddyfile listens on SERVER_NAME and serves SERVER_ROOT.
                L($"ENV SERVER_NAME=:{p}");
                L($"ENV SERVER_ROOT={(d.OutputDir is null or "." ? "/app" : "/app/" + d.OutputDir)}");
                L("COPY --from=vendor /app ./");
                if (build is not null) L(Run(build, null));
                L($"EXPOSE {p}");
                Cmd(start);
                break;

            case "ruby":
                var rails = d.Framework == "Rails";
                L($"FROM {I("Ruby")} AS build");
                L("WORKDIR /app");
                L("ENV BUNDLE_WITHOUT=development:test");
                if (rails) L("ENV RAILS_ENV=production");
                Copy(d.Manifests, "./");
                if (install is not null) L(Run(install, d.CacheTargets));
                L("COPY . .");
                if (build is not null) L(Run(build, null));
                L("");
                L($"FROM {I("Ruby")}");
                L("WORKDIR /app");
                L("ENV BUNDLE_WITHOUT=development:test");
                if (rails) L("ENV RAILS_ENV=production RAILS_LOG_TO_STDOUT=1 RAILS_SERVE_STATIC_FILES=1");
                Port();
                L("COPY --from=build /usr/local/bundle /usr/local/bundle");
                L("COPY --from=build /app ./");
                L($"EXPOSE {p}");
                Cmd(start);
                break;

            default:
                L($"FROM {I("Static")}");
                Port();
                L(CaddyfileLine(spa: false));
                L("COPY . /srv");
                L($"RUN rm -f /srv/{FileName}");
                L($"EXPOSE {p}");
                Cmd(commands.Start is null ? CaddyCmd : start);
                break;
        }
        return w.ToString();
    }

    static readonly string[] CaddyCmd = ["caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"];

    /// <summary>
    /// The Caddyfile of the static image, written by printf since heredocs are out. {$PORT} is Caddy's own environment
    /// placeholder, read when Caddy starts, so a PORT given to the container moves the listener too. A single-page app
    /// answers unknown paths with index.html (its router decides); a plain site answers them with 404.
    /// </summary>
    static string CaddyfileLine(bool spa) =>
        "RUN printf '%s\\n' ':{$PORT}' 'root * /srv'" + (spa ? " 'try_files {path} /index.html'" : "") + " 'file_server' > /etc/caddy/Caddyfile";
}

[System.Text.Json.Serialization.JsonSerializable(typeof(string[]))]
internal partial class BuildJson : System.Text.Json.Serialization.JsonSerializerContext;

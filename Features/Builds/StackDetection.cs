using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using VpsPanel.Features.Git;

namespace VpsPanel.Features.Builds;

/// <summary>The repository cannot be built without a Dockerfile; the message says what was looked for or what is wrong.</summary>
public sealed class DetectionException(string message) : Exception(message);

/// <summary>
/// What a repository is and how the generated Dockerfile builds and starts it. <see cref="Reasons"/> are the sentences
/// the deploy log, the project page and the API show ("package-lock.json → npm"). Commands are the defaults before the
/// project's own install/build/start overrides; <see cref="Start"/> is the exec-form CMD.
/// </summary>
public sealed record Detection(
    string Stack, string? Framework, List<string> Reasons, int DefaultPort,
    string? Install = null, string? Build = null, string[]? Start = null,
    List<string>? Manifests = null, List<string>? CacheTargets = null,
    string? OutputDir = null, string? Target = null, string? Binary = null, string? PackageManager = null, bool HasPublicDir = false)
{
    /// <summary>"Node (Next.js standalone)", "Python (Flask)", "Go" …: for the page and the log.</summary>
    public string Label => Stack switch
    {
        "node" => "Node", "python" => "Python", "go" => "Go", "rust" => "Rust", "dotnet" => ".NET", "php" => "PHP", "ruby" => "Ruby", _ => "static site",
    } + (Framework is { } f ? $" ({f})" : "");
}

/// <summary>
/// Reads a commit's tree (no checkout; LibGit2Sharp through <see cref="GitRepo"/>) under the project's base directory and
/// tells which stack it is. Order matters where repositories mix: a Laravel or Rails app has a package.json for its
/// assets, so composer.json and Gemfile win over it; a bare index.html is the last resort.
/// </summary>
public static partial class StackDetection
{
    public const string LookedFor =
        "index.html (static site), package.json (Node), requirements.txt or pyproject.toml (Python), go.mod (Go), Cargo.toml (Rust), " +
        "one *.csproj or *.fsproj (.NET), composer.json (PHP), Gemfile (Ruby)";

    /// <summary>The files of a tree below the base directory (paths relative to it) and a reader for one of them.</summary>
    public sealed class Tree(IReadOnlyCollection<string> files, Func<string, string?> read)
    {
        public HashSet<string> Files { get; } = files.ToHashSet(StringComparer.Ordinal);
        public bool Has(string path) => Files.Contains(path);
        public string? Read(string path) => Has(path) ? read(path) : null;

        /// <summary>The tree of one commit in a bare mirror, below <paramref name="baseDir"/> ("" = the root).</summary>
        public static Tree FromCommit(string mirror, string sha, string baseDir)
        {
            var prefix = baseDir.Trim('/') is var b && b is "" or "." ? "" : b + "/";
            var files = GitRepo.ListFiles(mirror, sha, max: 50_000).Where(f => f.StartsWith(prefix, StringComparison.Ordinal)).Select(f => f[prefix.Length..]).ToList();
            return new Tree(files, path => GitRepo.ReadFile(mirror, sha, prefix + path) is { } bytes ? Encoding.UTF8.GetString(bytes) : null);
        }

        /// <summary>
        /// The files under a directory of a checkout, as <see cref="FromCommit"/> lists a commit's: links are listed as
        /// entries (git keeps them so) but never followed into, .git is left out; only regular files are read.
        /// </summary>
        public static Tree FromDirectory(string dir)
        {
            var files = new List<string>();
            void Walk(string path, string prefix)
            {
                foreach (var entry in new DirectoryInfo(path).EnumerateFileSystemInfos("*", new EnumerationOptions { AttributesToSkip = 0, IgnoreInaccessible = true }))
                {
                    if (files.Count >= 50_000) return;
                    if (entry is DirectoryInfo && entry.LinkTarget is null) { if (entry.Name != ".git" || prefix != "") Walk(entry.FullName, prefix + entry.Name + "/"); }
                    else files.Add(prefix + entry.Name);
                }
            }
            Walk(dir, "");
            return new Tree(files, path =>
            {
                var file = new FileInfo(Path.Combine(dir, path));
                return file.Exists && file.LinkTarget is null ? File.ReadAllText(file.FullName) : null;
            });
        }
    }

    public static Detection Detect(Tree t)
    {
        if (t.Has("go.mod")) return Go(t);
        if (t.Has("Cargo.toml")) return Rust(t);
        if (t.Has("composer.json")) return Php(t);
        if (t.Has("Gemfile")) return Ruby(t);
        if (t.Has("requirements.txt") || t.Has("pyproject.toml")) return Python(t);
        if (t.Files.Any(f => !f.Contains('/') && (f.EndsWith(".csproj", StringComparison.Ordinal) || f.EndsWith(".fsproj", StringComparison.Ordinal)))
            || DotNetProjects(t).Count > 0) return DotNet(t);
        if (t.Has("package.json")) return Node(t);
        if (IsPlainStatic(t))
            return new Detection("static", null, ["index.html at the root, no package.json → a static site served by Caddy"], 8080, OutputDir: ".");
        throw new DetectionException($"nothing to build a Dockerfile from: looked for {LookedFor}");
    }

    /// <summary>
    /// A plain static site: an index.html and nothing any other stack is detected by, so nothing to build. The one rule
    /// for "Caddy serves the files, no image, no container": the deploy asks it of the checkout
    /// (Deployments/StaticSiteDeploy), the project page and the API of the commit (<see cref="ProjectDockerfile"/>).
    /// </summary>
    public static bool IsPlainStatic(Tree t) => t.Has("index.html") && !(t.Has("go.mod") || t.Has("Cargo.toml") || t.Has("composer.json")
        || t.Has("Gemfile") || t.Has("requirements.txt") || t.Has("pyproject.toml") || t.Has("package.json") || DotNetProjects(t).Count > 0);

    static string? Also(Tree t, string what) => t.Has("package.json") ? $" (package.json is there too: {what})" : "";

    // ---------- Node ----------

    sealed record PackageJson(Dictionary<string, string> Scripts, HashSet<string> Dependencies, HashSet<string> DevDependencies, string? Main)
    {
        public bool Uses(string name) => Dependencies.Contains(name) || DevDependencies.Contains(name);
    }

    static PackageJson ReadPackageJson(Tree t)
    {
        var text = t.Read("package.json") ?? "";
        try
        {
            using var doc = JsonDocument.Parse(text, new JsonDocumentOptions { AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow });
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new DetectionException("package.json is not a JSON object");
            Dictionary<string, string> Strings(string key) => doc.RootElement.TryGetProperty(key, out var o) && o.ValueKind == JsonValueKind.Object
                ? o.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.String).ToDictionary(p => p.Name, p => p.Value.GetString()!)
                : [];
            var main = doc.RootElement.TryGetProperty("main", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
            return new PackageJson(Strings("scripts"), Strings("dependencies").Keys.ToHashSet(), Strings("devDependencies").Keys.ToHashSet(), main);
        }
        catch (JsonException e)
        {
            // JsonException counts from 0; people count lines and columns from 1.
            var where = e.LineNumber is { } line ? $" at line {line + 1}, column {(e.BytePositionInLine ?? 0) + 1}" : "";
            throw new DetectionException($"package.json is not valid JSON{where}: {FirstSentence(e.Message)}");
        }
    }

    static string FirstSentence(string s)
    {
        var i = s.IndexOf(" Path:", StringComparison.Ordinal);
        return (i > 0 ? s[..i] : s).Trim();
    }

    static Detection Node(Tree t)
    {
        var pkg = ReadPackageJson(t);
        var reasons = new List<string>();
        string pm, install;
        List<string> manifests = ["package.json"], cache;
        if (t.Has("pnpm-lock.yaml"))
        {
            (pm, install, cache) = ("pnpm", "corepack enable && pnpm install --frozen-lockfile", ["/root/.local/share/pnpm/store"]);
            manifests.Add("pnpm-lock.yaml");
            reasons.Add("pnpm-lock.yaml → pnpm");
        }
        else if (t.Has("yarn.lock"))
        {
            var berry = t.Has(".yarnrc.yml");
            (pm, install, cache) = ("yarn", berry ? "corepack enable && yarn install --immutable" : "corepack enable && yarn install --frozen-lockfile",
                [berry ? "/root/.yarn/berry/cache" : "/usr/local/share/.cache/yarn"]);
            manifests.Add("yarn.lock");
            if (berry) manifests.Add(".yarnrc.yml");
            reasons.Add(berry ? "yarn.lock and .yarnrc.yml → yarn (berry)" : "yarn.lock → yarn");
        }
        else if (t.Has("package-lock.json"))
        {
            (pm, install, cache) = ("npm", "npm ci --no-audit --no-fund", ["/root/.npm"]);
            manifests.Add("package-lock.json");
            reasons.Add("package-lock.json → npm");
        }
        else
        {
            (pm, install, cache) = ("npm", "npm install --no-audit --no-fund", ["/root/.npm"]);
            reasons.Add("package.json without a lockfile → npm install (commit a lockfile for repeatable builds)");
        }
        if (t.Has(".npmrc")) manifests.Add(".npmrc");
        string Run(string script) => pm == "npm" ? $"npm run {script}" : $"{pm} run {script}";
        var build = pkg.Scripts.ContainsKey("build") ? Run("build") : null;
        if (build is not null) reasons.Add($"package.json scripts.build → runs {build}");

        string[]? start = null;
        string? framework = null, output = null;
        var port = 3000;
        if (pkg.Uses("next"))
        {
            var config = new[] { "next.config.js", "next.config.mjs", "next.config.ts", "next.config.cjs" }.FirstOrDefault(t.Has);
            if (config is not null && StandalonePattern().IsMatch(t.Read(config) ?? ""))
            {
                framework = "Next.js standalone";
                reasons.Add($"next in dependencies, {config} sets output: \"standalone\" → runs node server.js from .next/standalone");
                start = ["node", "server.js"];
            }
            else
            {
                framework = "Next.js";
                reasons.Add("next in dependencies (no output: \"standalone\" in next.config) → runs next start with node_modules");
            }
        }
        else if (pkg.Uses("nuxt"))
        {
            framework = "Nuxt";
            reasons.Add("nuxt in dependencies → runs node .output/server/index.mjs");
            start = ["node", ".output/server/index.mjs"];
        }
        else if (pkg.Uses("@sveltejs/kit") && pkg.Uses("@sveltejs/adapter-node"))
        {
            framework = "SvelteKit";
            reasons.Add("@sveltejs/kit with @sveltejs/adapter-node → runs node build");
            start = ["node", "build"];
        }
        else if (pkg.Uses("@sveltejs/kit") && pkg.Uses("@sveltejs/adapter-static"))
        {
            framework = "SvelteKit static";
            output = "build";
            reasons.Add("@sveltejs/kit with @sveltejs/adapter-static → build/ served as a static site");
        }
        else if (pkg.Uses("@remix-run/serve") || pkg.Uses("@remix-run/node"))
        {
            framework = "Remix";
            reasons.Add("@remix-run in dependencies → runs its start script (remix-serve)");
        }
        else if (pkg.Uses("astro"))
        {
            if (pkg.Uses("@astrojs/node"))
            {
                framework = "Astro";
                reasons.Add("astro with @astrojs/node → runs node ./dist/server/entry.mjs");
                start = ["node", "./dist/server/entry.mjs"];
            }
            else
            {
                framework = "Astro static";
                output = "dist";
                reasons.Add("astro without a server adapter → dist/ served as a static site");
            }
        }
        else if (pkg.Uses("vite") && build is not null && !pkg.Scripts.ContainsKey("start"))
        {
            framework = "Vite SPA";
            output = "dist";
            reasons.Add("vite with a build script and no start script → dist/ served as a single-page app (unknown paths get index.html)");
        }

        if (output is not null)
        {
            if (build is null) throw new DetectionException($"package.json has no scripts.build, so there is no {output}/ to serve ({framework})");
            port = 8080;
        }
        else if (start is null && framework is null && pkg.Scripts.TryGetValue("start", out var plain) && NodeFilePattern().Match(plain) is { Success: true } direct)
        {
            // No npm process between the container and the app: it starts faster and gets SIGTERM itself.
            start = ["node", direct.Groups[1].Value];
            reasons.Add($"package.json scripts.start is \"{plain}\" → runs it directly");
        }
        else if (start is null && framework is null or "Next.js" or "Remix" && pkg.Scripts.ContainsKey("start"))
        {
            start = ["npm", "start"];
            reasons.Add($"package.json scripts.start → runs npm start ({pkg.Scripts["start"]})");
        }
        else if (start is null)
        {
            var entry = pkg.Main is { } m && t.Has(m.TrimStart('.', '/')) ? m.TrimStart('.', '/')
                : new[] { "server.js", "index.js", "app.js", "main.js" }.FirstOrDefault(t.Has);
            if (entry is null)
                throw new DetectionException("package.json has no scripts.start, no \"main\" file, and none of server.js, index.js, app.js, main.js exists: set a start command for the project");
            start = ["node", entry];
            reasons.Add($"no scripts.start → runs node {entry}");
        }
        return new Detection("node", framework, reasons, port, install, build, start, manifests, cache, output, PackageManager: pm,
            HasPublicDir: t.Files.Any(f => f.StartsWith("public/", StringComparison.Ordinal)));
    }

    [GeneratedRegex(@"^node\s+([A-Za-z0-9_][A-Za-z0-9_./-]*)$")]
    private static partial Regex NodeFilePattern();

    [GeneratedRegex(@"output\s*:\s*['""`]standalone['""`]")]
    private static partial Regex StandalonePattern();

    // ---------- Python ----------

    static Detection Python(Tree t)
    {
        var reasons = new List<string>();
        string deps;
        string? install = null;
        List<string> manifests = [];
        if (t.Has("requirements.txt"))
        {
            deps = t.Read("requirements.txt") ?? "";
            var listed = deps.Split('\n').Select(l => l.Split('#')[0].Trim()).Any(l => l != "");
            if (listed)
            {
                install = "pip install -r requirements.txt";
                manifests.Add("requirements.txt");
                reasons.Add("requirements.txt → pip install -r requirements.txt into a virtual environment");
            }
            else reasons.Add("requirements.txt lists nothing → no pip install (standard library only)");
        }
        else
        {
            deps = t.Read("pyproject.toml") ?? "";
            install = "pip install .";
            reasons.Add("pyproject.toml → pip install . into a virtual environment");
        }
        bool Needs(string name) => Regex.IsMatch(deps, $@"(?im)^\s*[""']?{Regex.Escape(name)}\s*([<>=!~\[;""'@ ,]|$)") || Regex.IsMatch(deps, $@"(?im)[""']{Regex.Escape(name)}[<>=!~\[ ;""']");
        string[] start;
        string? framework = null;
        void Server(string server)
        {
            if (Needs(server)) return;
            if (install is null) { install = $"pip install {server}"; reasons.Add($"{server} is not listed → pip install {server}"); }
            else { install += $" {server}"; reasons.Add($"{server} is not listed → installed too"); }
        }
        string[] Sh(string cmd) => ["sh", "-c", "exec " + cmd];
        if (Needs("django") && t.Has("manage.py"))
        {
            framework = "Django";
            var wsgi = t.Files.Where(f => f.EndsWith("/wsgi.py", StringComparison.Ordinal) && f.Count(c => c == '/') == 1).Order(StringComparer.Ordinal).FirstOrDefault()
                ?? throw new DetectionException("a Django project (manage.py) without <project>/wsgi.py next to it: set a start command for the project");
            var module = wsgi[..wsgi.IndexOf('/')] + ".wsgi";
            Server("gunicorn");
            start = Sh($"gunicorn --bind 0.0.0.0:$PORT {module}:application");
            reasons.Insert(0, $"django listed, manage.py and {wsgi} → gunicorn {module}:application");
        }
        else if (Needs("fastapi"))
        {
            framework = "FastAPI";
            var module = new[] { ("main.py", "main"), ("app.py", "app"), ("app/main.py", "app.main"), ("src/main.py", "src.main") }.FirstOrDefault(m => t.Has(m.Item1));
            if (module.Item1 is null) throw new DetectionException("a FastAPI app, but none of main.py, app.py, app/main.py, src/main.py exists: set a start command for the project");
            Server("uvicorn");
            start = Sh($"uvicorn {module.Item2}:app --host 0.0.0.0 --port $PORT");
            reasons.Insert(0, $"fastapi listed, {module.Item1} → uvicorn {module.Item2}:app");
        }
        else if (Needs("flask"))
        {
            framework = "Flask";
            var module = new[] { "app", "wsgi", "main", "application" }.FirstOrDefault(m => t.Has(m + ".py"))
                ?? throw new DetectionException("a Flask app, but none of app.py, wsgi.py, main.py, application.py exists: set a start command for the project");
            Server("gunicorn");
            start = Sh($"gunicorn --bind 0.0.0.0:$PORT {module}:app");
            reasons.Insert(0, $"flask listed, {module}.py → gunicorn {module}:app");
        }
        else
        {
            var script = new[] { "main.py", "app.py", "server.py" }.FirstOrDefault(t.Has)
                ?? throw new DetectionException("a Python project without Django, Flask or FastAPI, and none of main.py, app.py, server.py exists: set a start command for the project");
            start = ["python3", script];
            reasons.Add($"no web framework listed → runs python3 {script}");
        }
        return new Detection("python", framework, reasons, 8000, install, null, start, manifests, ["/root/.cache/pip"]);
    }

    // ---------- Go ----------

    static Detection Go(Tree t)
    {
        var reasons = new List<string> { "go.mod → Go, built with CGO_ENABLED=0 into one static binary" };
        string target;
        if (t.Files.Any(f => !f.Contains('/') && f.EndsWith(".go", StringComparison.Ordinal) && !f.EndsWith("_test.go", StringComparison.Ordinal)
                && PackageMainPattern().IsMatch(t.Read(f) ?? "")))
        {
            target = ".";
            reasons.Add("package main at the root → go build .");
        }
        else
        {
            var cmds = t.Files.Where(f => f.StartsWith("cmd/", StringComparison.Ordinal) && f.EndsWith(".go", StringComparison.Ordinal) && f.Count(c => c == '/') == 2)
                .Select(f => f.Split('/')[1]).Distinct().Order(StringComparer.Ordinal).ToList();
            if (cmds.Count != 1)
                throw new DetectionException(cmds.Count == 0
                    ? "go.mod, but no package main at the root and no cmd/<name>/: set a build command for the project"
                    : $"go.mod with several commands ({string.Join(", ", cmds.Select(c => "cmd/" + c))}): set a build command for the project");
            target = "./cmd/" + cmds[0];
            reasons.Add($"the one command under cmd/ → go build {target}");
        }
        List<string> manifests = t.Has("go.sum") ? ["go.mod", "go.sum"] : ["go.mod"];
        return new Detection("go", null, reasons, 8080, "go mod download", $"go build -buildvcs=false -trimpath -ldflags=\"-s -w\" -o /out/app {target}",
            ["/app"], manifests, ["/go/pkg/mod"], Target: target);
    }

    [GeneratedRegex(@"(?m)^\s*package\s+main\b")]
    private static partial Regex PackageMainPattern();

    // ---------- Rust ----------

    static Detection Rust(Tree t)
    {
        var toml = t.Read("Cargo.toml") ?? "";
        var bin = TomlSectionName(toml, "[[bin]]") ?? TomlSectionName(toml, "[package]")
            ?? throw new DetectionException("Cargo.toml has no [package] name (a workspace?): set the project's base directory to one crate, or a build command");
        var locked = t.Has("Cargo.lock");
        var reasons = new List<string> { $"Cargo.toml → Rust, binary {bin}" + (locked ? ", Cargo.lock → cargo build --locked" : "") };
        return new Detection("rust", null, reasons, 8080, null,
            $"cargo build --release{(locked ? " --locked" : "")} && mkdir -p /out && cp target/release/{bin} /out/app",
            ["/usr/local/bin/app"], null, ["/usr/local/cargo/registry", "/src/target"], Binary: bin);
    }

    /// <summary>The name = "…" of the first section with this header; enough of TOML for Cargo.toml's package name.</summary>
    static string? TomlSectionName(string toml, string header)
    {
        var inSection = false;
        foreach (var raw in toml.Split('\n'))
        {
            var line = raw.Trim();
            if (line.StartsWith('[')) { inSection = line == header; continue; }
            if (inSection && NameLinePattern().Match(line) is { Success: true } m) return m.Groups[1].Value;
        }
        return null;
    }

    [GeneratedRegex(@"^name\s*=\s*""([A-Za-z0-9_-]{1,64})""")]
    private static partial Regex NameLinePattern();

    // ---------- .NET ----------

    static List<string> DotNetProjects(Tree t) => t.Files
        .Where(f => (f.EndsWith(".csproj", StringComparison.Ordinal) || f.EndsWith(".fsproj", StringComparison.Ordinal)) && f.Count(c => c == '/') <= 2)
        .Order(StringComparer.Ordinal).ToList();

    static Detection DotNet(Tree t)
    {
        var projects = DotNetProjects(t);
        var web = projects.Where(p => (t.Read(p) ?? "").Contains("Microsoft.NET.Sdk.Web", StringComparison.Ordinal)).ToList();
        if (web.Count > 1) throw new DetectionException($"several web projects ({string.Join(", ", web)}): set the project's base directory to one of them");
        var project = web.Count == 1 ? web[0] : projects.Count == 1 ? projects[0]
            : throw new DetectionException($"several .NET projects and none uses Microsoft.NET.Sdk.Web ({string.Join(", ", projects)}): set the project's base directory to one of them");
        var assembly = AssemblyNamePattern().Match(t.Read(project) ?? "") is { Success: true } m ? m.Groups[1].Value : Path.GetFileNameWithoutExtension(project);
        var reasons = new List<string>
        {
            web.Count == 1 ? $"{project} uses Microsoft.NET.Sdk.Web → dotnet publish, runs {assembly}.dll" : $"{project}, the only project → dotnet publish, runs {assembly}.dll",
        };
        return new Detection("dotnet", null, reasons, 8080, null, $"dotnet publish \"{project}\" -c Release -o /out", ["dotnet", assembly + ".dll"],
            null, ["/root/.nuget/packages"], Target: project, Binary: assembly);
    }

    [GeneratedRegex(@"<AssemblyName>\s*([A-Za-z0-9_.-]{1,100})\s*</AssemblyName>")]
    private static partial Regex AssemblyNamePattern();

    // ---------- PHP ----------

    static Detection Php(Tree t)
    {
        var reasons = new List<string> { "composer.json → PHP on FrankenPHP, dependencies by composer install --no-dev" + Also(t, "its assets are not built") };
        string? docroot;
        if (t.Has("public/index.php")) { docroot = "public"; reasons.Add("public/index.php → serves public/"); }
        else if (t.Has("index.php")) { docroot = "."; reasons.Add("index.php at the root → serves the root"); }
        else throw new DetectionException("composer.json, but neither public/index.php nor index.php exists: nothing to serve");
        List<string> manifests = t.Has("composer.lock") ? ["composer.json", "composer.lock"] : ["composer.json"];
        return new Detection("php", t.Has("artisan") ? "Laravel" : null, reasons, 8080,
            "composer install --no-dev --no-interaction --prefer-dist --optimize-autoloader --no-scripts --ignore-platform-reqs", null, null,
            manifests, ["/tmp/cache"], OutputDir: docroot);
    }

    // ---------- Ruby ----------

    static Detection Ruby(Tree t)
    {
        var gemfile = t.Read("Gemfile") ?? "";
        bool Gem(string name) => Regex.IsMatch(gemfile, $@"(?m)^\s*gem\s+['""]{Regex.Escape(name)}['""]");
        var reasons = new List<string> { "Gemfile → Ruby, bundle install without development and test gems" + Also(t, "its assets are not built by npm") };
        string[] start;
        string? framework;
        string? build = null;
        if (Gem("rails") || t.Has("config/application.rb"))
        {
            framework = "Rails";
            start = ["sh", "-c", "exec bundle exec rails server -b 0.0.0.0 -p $PORT"];
            reasons.Add("rails in the Gemfile → rails server");
            if (t.Files.Any(f => f.StartsWith("app/assets/", StringComparison.Ordinal)))
            {
                build = "SECRET_KEY_BASE_DUMMY=1 bundle exec rails assets:precompile";
                reasons.Add("app/assets → rails assets:precompile");
            }
        }
        else if (t.Has("config.ru"))
        {
            framework = "Rack";
            start = Gem("puma") ? ["sh", "-c", "exec bundle exec puma -b tcp://0.0.0.0:$PORT config.ru"] : ["sh", "-c", "exec bundle exec rackup -o 0.0.0.0 -p $PORT config.ru"];
            reasons.Add(Gem("puma") ? "config.ru with puma in the Gemfile → puma" : "config.ru → rackup");
        }
        else throw new DetectionException("a Gemfile, but neither Rails (config/application.rb) nor a Rack app (config.ru): set a start command for the project");
        List<string> manifests = t.Has("Gemfile.lock") ? ["Gemfile", "Gemfile.lock"] : ["Gemfile"];
        return new Detection("ruby", framework, reasons, 3000, "bundle install", build, start, manifests, ["/usr/local/bundle/cache"]);
    }
}

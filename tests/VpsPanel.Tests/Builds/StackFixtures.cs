namespace VpsPanel.Tests.Builds;

/// <summary>The smallest repository of each stack the detection knows (the files that decide, and a line of app code).</summary>
public static class StackFixtures
{
    public static readonly Dictionary<string, Dictionary<string, string>> All = new()
    {
        ["static"] = new() { ["index.html"] = "<h1>hello</h1>\n", ["style.css"] = "h1 { color: red }\n" },
        ["node-express"] = new()
        {
            ["package.json"] = """{"name":"api","scripts":{"build":"tsc","start":"node dist/server.js"},"dependencies":{"express":"^4.19.2"},"devDependencies":{"typescript":"^5.4.0"}}""",
            ["package-lock.json"] = "{}", ["src/server.ts"] = "console.log('hi')\n",
        },
        ["node-plain"] = new() { ["package.json"] = """{"name":"plain","main":"app.js"}""", ["app.js"] = "require('http')\n" },
        ["nextjs-standalone"] = new()
        {
            ["package.json"] = """{"scripts":{"build":"next build","start":"next start"},"dependencies":{"next":"14.2.3","react":"18.3.1"}}""",
            ["pnpm-lock.yaml"] = "lockfileVersion: '9.0'\n", ["next.config.mjs"] = "export default { output: 'standalone' };\n", ["public/favicon.ico"] = "x",
            ["app/page.tsx"] = "export default function Page() { return null }\n",
        },
        ["nextjs"] = new()
        {
            ["package.json"] = """{"scripts":{"build":"next build","start":"next start"},"dependencies":{"next":"14.2.3"}}""",
            ["package-lock.json"] = "{}", ["next.config.js"] = "module.exports = {};\n",
        },
        ["nuxt"] = new()
        {
            ["package.json"] = """{"scripts":{"build":"nuxt build"},"devDependencies":{"nuxt":"^3.11.0"}}""",
            ["yarn.lock"] = "# yarn lockfile v1\n", ["app.vue"] = "<template><div/></template>\n",
        },
        ["sveltekit"] = new()
        {
            ["package.json"] = """{"scripts":{"build":"vite build"},"devDependencies":{"@sveltejs/kit":"^2.5.0","@sveltejs/adapter-node":"^5.0.0","vite":"^5.2.0"}}""",
            ["package-lock.json"] = "{}", ["svelte.config.js"] = "import adapter from '@sveltejs/adapter-node';\n",
        },
        ["remix"] = new()
        {
            ["package.json"] = """{"scripts":{"build":"remix vite:build","start":"remix-serve ./build/server/index.js"},"dependencies":{"@remix-run/node":"^2.9.0","@remix-run/serve":"^2.9.0"}}""",
            ["package-lock.json"] = "{}",
        },
        ["astro"] = new()
        {
            ["package.json"] = """{"scripts":{"build":"astro build"},"dependencies":{"astro":"^4.8.0","@astrojs/node":"^8.2.0"}}""",
            ["yarn.lock"] = "__metadata:\n", [".yarnrc.yml"] = "nodeLinker: node-modules\n",
        },
        ["vite-spa"] = new()
        {
            ["package.json"] = """{"scripts":{"dev":"vite","build":"vite build"},"devDependencies":{"vite":"^5.2.0"}}""",
            ["package-lock.json"] = "{}", ["index.html"] = "<div id=app></div>\n",
        },
        ["flask"] = new() { ["requirements.txt"] = "Flask==3.0.3\n", ["app.py"] = "from flask import Flask\napp = Flask(__name__)\n" },
        ["django"] = new()
        {
            ["requirements.txt"] = "Django>=5.0,<6\ngunicorn==22.0.0\n", ["manage.py"] = "#!/usr/bin/env python\n",
            ["mysite/settings.py"] = "DEBUG = False\n", ["mysite/wsgi.py"] = "application = None\n",
        },
        ["fastapi"] = new()
        {
            ["pyproject.toml"] = "[project]\nname = \"svc\"\nversion = \"0.1.0\"\ndependencies = [\"fastapi>=0.110\", \"uvicorn[standard]>=0.29\"]\n",
            ["app/main.py"] = "from fastapi import FastAPI\napp = FastAPI()\n",
        },
        ["python-stdlib"] = new() { ["requirements.txt"] = "# standard library only\n", ["main.py"] = "import http.server\n" },
        ["go"] = new() { ["go.mod"] = "module example.com/hello\n\ngo 1.22\n", ["go.sum"] = "", ["main.go"] = "package main\n\nfunc main() {}\n" },
        ["go-cmd"] = new() { ["go.mod"] = "module example.com/svc\n\ngo 1.22\n", ["cmd/server/main.go"] = "package main\n\nfunc main() {}\n", ["internal/x.go"] = "package internal\n" },
        ["rust"] = new()
        {
            ["Cargo.toml"] = "[package]\nname = \"hello-web\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n",
            ["Cargo.lock"] = "version = 3\n", ["src/main.rs"] = "fn main() {}\n",
        },
        ["dotnet"] = new()
        {
            ["src/Web/Web.csproj"] = "<Project Sdk=\"Microsoft.NET.Sdk.Web\">\n  <PropertyGroup>\n    <AssemblyName>Shop.Web</AssemblyName>\n  </PropertyGroup>\n</Project>\n",
            ["src/Lib/Lib.csproj"] = "<Project Sdk=\"Microsoft.NET.Sdk\"></Project>\n", ["src/Web/Program.cs"] = "var app = WebApplication.Create();\n",
        },
        ["php"] = new()
        {
            ["composer.json"] = """{"require":{"laravel/framework":"^11.0"}}""", ["composer.lock"] = "{}", ["artisan"] = "#!/usr/bin/env php\n",
            ["public/index.php"] = "<?php\n", ["package.json"] = """{"scripts":{"build":"vite build"}}""",
        },
        ["rails"] = new()
        {
            ["Gemfile"] = "source \"https://rubygems.org\"\ngem \"rails\", \"~> 7.1\"\ngem \"puma\"\n", ["Gemfile.lock"] = "GEM\n",
            ["config/application.rb"] = "module Shop; end\n", ["app/assets/stylesheets/app.css"] = "body {}\n",
        },
        ["rack"] = new() { ["Gemfile"] = "source 'https://rubygems.org'\ngem 'sinatra'\n", ["config.ru"] = "run Sinatra::Application\n" },
    };
}

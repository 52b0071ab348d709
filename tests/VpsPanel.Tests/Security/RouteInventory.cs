using System.Reflection;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Razor.Hosting;
using VpsPanel.Features;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Security;

/// <summary>
/// Every route the panel answers, read from the app itself so that a route added later cannot be missed:
/// the endpoints its route table maps (built in-process, never started, on a throwaway data dir) and, for each Razor
/// page, the handlers its page model declares. Keys look like "GET /projects/{id:long}",
/// "POST /projects/{id:long}?handler=Deploy", "ANY /api/{**rest}" (an endpoint that takes every method).
/// </summary>
public static class RouteInventory
{
    static readonly string[] Verbs = ["Get", "Post", "Put", "Patch", "Delete"];

    /// <summary>The keys of every route, pages and handlers included.</summary>
    public static SortedSet<string> FromApp()
    {
        var dataDir = Paths.NewTempDir("vpspanel-routes-");
        try
        {
            // applicationName: the test host is the entry assembly here, and Razor finds its pages in the assembly
            // named by the application name.
            var app = PanelApp.Build([$"--Panel:DataDir={dataDir}", "--applicationName=VpsPanel"]);
            try
            {
                var keys = new SortedSet<string>(StringComparer.Ordinal);
                var endpoints = ((IEndpointRouteBuilder)app).DataSources.SelectMany(d => d.Endpoints).OfType<RouteEndpoint>().ToList();
                foreach (var e in endpoints)
                {
                    var template = "/" + e.RoutePattern.RawText!.TrimStart('/');
                    if (e.Metadata.GetMetadata<Microsoft.AspNetCore.Mvc.RazorPages.PageActionDescriptor>() is { } page)
                    {
                        foreach (var handler in PageHandlers(page.RelativePath)) keys.Add($"{handler.Method} {template}{handler.Query}");
                        continue;
                    }
                    var methods = e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods;
                    if (methods is null || methods.Count == 0) keys.Add($"ANY {template}");
                    else foreach (var m in methods) keys.Add($"{m} {template}");
                }
                if (!keys.Any(k => k.StartsWith("GET /projects", StringComparison.Ordinal)))
                    throw new InvalidOperationException("the in-process app mapped no Razor pages; the inventory would be incomplete:\n" + string.Join('\n', keys));
                return keys;
            }
            finally { ((IDisposable)app).Dispose(); }
        }
        finally { Paths.DeleteQuietly(dataDir); }
    }

    /// <summary>
    /// The handlers of the page compiled from <paramref name="relativePath"/> (e.g. /Features/Projects/Show.cshtml):
    /// OnGet → ("GET", ""), OnPostDeploy/OnPostDeployAsync → ("POST", "?handler=Deploy"). The compiled page class names its
    /// model through its Model property.
    /// </summary>
    static IEnumerable<(string Method, string Query)> PageHandlers(string relativePath)
    {
        var item = typeof(PanelApp).Assembly.GetCustomAttributes<RazorCompiledItemAttribute>()
            .Single(a => a.Kind == "mvc.1.0.razor-page" && string.Equals(a.Identifier, relativePath, StringComparison.OrdinalIgnoreCase));
        var model = item.Type.GetProperty("Model")!.PropertyType;
        var found = new HashSet<(string, string)>();
        if (model.IsSubclassOf(typeof(PageModel)) || model == item.Type)
        {
            foreach (var m in model.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly))
            {
                if (!m.Name.StartsWith("On", StringComparison.Ordinal)) continue;
                var rest = m.Name[2..];
                if (rest.EndsWith("Async", StringComparison.Ordinal)) rest = rest[..^5];
                var verb = Verbs.FirstOrDefault(v => rest.StartsWith(v, StringComparison.Ordinal));
                if (verb is null) continue;
                var name = rest[verb.Length..];
                found.Add((verb.ToUpperInvariant(), name == "" ? "" : $"?handler={name}"));
            }
        }
        // A page without a model class (only markup) answers GET.
        if (found.Count == 0) found.Add(("GET", ""));
        return found;
    }

    /// <summary>The API routes the running panel documents in /api/openapi.json, as keys ("PATCH /api/projects/{slug}").</summary>
    public static async Task<SortedSet<string>> FromOpenApiAsync(string baseUrl)
    {
        using var http = new HttpClient { BaseAddress = new Uri(baseUrl), Timeout = TimeSpan.FromSeconds(30) };
        var doc = JsonNode.Parse(await http.GetStringAsync("/api/openapi.json"))!;
        var keys = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var (path, item) in doc["paths"]!.AsObject())
            foreach (var (method, _) in item!.AsObject())
                if (Verbs.Any(v => v.Equals(method, StringComparison.OrdinalIgnoreCase)))
                    keys.Add($"{method.ToUpperInvariant()} {path}");
        return keys;
    }
}

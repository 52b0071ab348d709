using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Api;

public sealed record Answer(HttpStatusCode Status, JsonNode? Body, string? MediaType);

/// <summary>A bearer-token client for one user of a test panel, with the JSON shortcuts the API tests use.</summary>
public sealed class TestApi : IDisposable
{
    public HttpClient Http { get; }
    public string Token { get; }

    public TestApi(PanelProcess panel, string token)
    {
        Token = token;
        Http = new HttpClient { BaseAddress = new Uri(panel.Url), Timeout = TimeSpan.FromSeconds(60) };
        Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    /// <summary>A token for this user made with the real CLI on the panel's data dir.</summary>
    public static async Task<TestApi> ForUserAsync(PanelProcess panel, string email)
    {
        var created = await PanelCli.RunAsync(["token", "create", "--user", email, "--name", "test", "--data-dir", panel.DataDir]);
        Assert.True(created.ExitCode == 0, created.Stderr);
        return new TestApi(panel, created.Stdout.Trim());
    }

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    public async Task<Answer> SendAsync(HttpMethod method, string path, string? json = null)
    {
        using var req = new HttpRequestMessage(method, path);
        if (json is not null) req.Content = Json(json);
        using var res = await Http.SendAsync(req);
        var text = await res.Content.ReadAsStringAsync();
        var type = res.Content.Headers.ContentType?.MediaType;
        return new Answer(res.StatusCode, text.Length > 0 && type?.Contains("json") == true ? JsonNode.Parse(text) : null, type);
    }

    public async Task<JsonNode> GetAsync(string path)
    {
        var (status, body, _) = await SendAsync(HttpMethod.Get, path);
        Assert.True(status == HttpStatusCode.OK, $"GET {path} answered {status}: {body}");
        return body!;
    }

    /// <summary>Creates a project through the API; returns its JSON (slug, webhookUrl, webhookSecret, …).</summary>
    public async Task<JsonNode> CreateProjectAsync(string name, string gitUrl, string domain, string branch = "main", bool autoDeploy = true)
    {
        var body = new JsonObject
        {
            ["name"] = name, ["gitUrl"] = gitUrl, ["branch"] = branch, ["port"] = 8080, ["domains"] = new JsonArray(domain), ["autoDeploy"] = autoDeploy,
        };
        var (status, json, _) = await SendAsync(HttpMethod.Post, "/api/projects", body.ToJsonString());
        Assert.True(status == HttpStatusCode.Created, $"creating {name} answered {status}: {json}");
        return json!;
    }

    public async Task<JsonArray> DeploymentsAsync(string slug) => (await GetAsync($"/api/projects/{slug}/deployments")).AsArray();

    public async Task<JsonArray> DeliveriesAsync(string slug) => (await GetAsync($"/api/projects/{slug}/webhook-deliveries")).AsArray();

    /// <summary>Polls the deployment until it has ended; returns its JSON.</summary>
    public async Task<JsonNode> WaitForEndAsync(long id, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(120));
        JsonNode d;
        do
        {
            d = await GetAsync($"/api/deployments/{id}");
            if ((string)d["status"]! is "live" or "failed" or "cancelled" or "superseded" or "retired") return d;
            await Task.Delay(200);
        } while (DateTime.UtcNow < deadline);
        throw new TimeoutException($"deployment {id} is still {d["status"]}: {await Http.GetStringAsync($"/api/deployments/{id}/log")}");
    }

    /// <summary>Asserts a problem+json answer with this status and a detail a person can read; returns it.</summary>
    public static JsonNode Problem(Answer answer, HttpStatusCode expected)
    {
        Assert.True(answer.Status == expected, $"expected {expected}, got {answer.Status}: {answer.Body}");
        Assert.Equal("application/problem+json", answer.MediaType);
        Assert.NotNull(answer.Body);
        Assert.Equal((int)expected, (int)answer.Body!["status"]!);
        Assert.False(string.IsNullOrWhiteSpace((string?)answer.Body["detail"]));
        return answer.Body;
    }

    public void Dispose() => Http.Dispose();
}

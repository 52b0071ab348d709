using System.Net;
using VpsPanel.Tests.Deployments;
using VpsPanel.Tests.Harness;
using static VpsPanel.Tests.Api.TestApi;

namespace VpsPanel.Tests.Api;

/// <summary>
/// A project that has a container port can go back to detecting it (the image's EXPOSE at every deploy): through
/// PATCH /api/projects/{slug} with "port": 0, and through the edit form with the field emptied or 0.
/// </summary>
public sealed class ProjectPortDetectTests
{
    [Fact]
    public async Task Port_0_in_the_API_and_an_empty_or_0_port_in_the_edit_form_switch_back_to_detection()
    {
        await using var caddy = await TestCaddy.StartAsync();
        await using var panel = await PanelProcess.StartAsync(caddy.PanelSettings());
        using var admin = await PanelSetup.SignedInAdminAsync(panel);
        using var api = await ForUserAsync(panel, PanelSetup.AdminEmail);
        var (status, created, _) = await api.SendAsync(HttpMethod.Post, "/api/projects",
            """{"name":"port-detect","gitUrl":"/srv/repos/app.git","branch":"main","port":8080,"domains":["port-detect.test"]}""");
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Equal(8080, (int)created!["port"]!);
        var id = (long)created["id"]!;

        var detect = await api.SendAsync(HttpMethod.Patch, "/api/projects/port-detect", """{"port":0}""");
        Assert.Equal(HttpStatusCode.OK, detect.Status);
        Assert.Null(detect.Body!["port"]);
        Assert.Contains("container port from the image's EXPOSE", (await admin.GetAsync($"/projects/{id}")).Doc.Body!.TextContent);
        Assert.Equal("", (await admin.GetAsync($"/projects/{id}/edit")).Doc.QuerySelector("#containerPort")!.GetAttribute("value"));

        // A port again, and a bad one is refused with the field named and nothing changed.
        Assert.Equal(9090, (int)(await api.SendAsync(HttpMethod.Patch, "/api/projects/port-detect", """{"port":9090}""")).Body!["port"]!);
        var bad = await api.SendAsync(HttpMethod.Patch, "/api/projects/port-detect", """{"port":70000}""");
        Assert.Contains("or 0", (string)Problem(bad, HttpStatusCode.UnprocessableEntity)["errors"]!["port"]![0]!);
        Assert.Equal(9090, (int)(await api.GetAsync("/api/projects/port-detect"))["port"]!);

        // The edit form: emptied, or 0, is detection too.
        foreach (var typed in new[] { "", "0" })
        {
            var fields = DeployEnv.ProjectFields("port-detect", "/srv/repos/app.git", "port-detect.test");
            fields["containerPort"] = typed;
            var saved = await admin.SubmitAsync($"/projects/{id}/edit", fields);
            Assert.True(saved.Status is HttpStatusCode.Redirect or HttpStatusCode.SeeOther, $"{saved.Status}: {saved.Text(".field-error")}");
            Assert.Null((await api.GetAsync("/api/projects/port-detect"))["port"]);
            Assert.Equal(9090, (int)(await api.SendAsync(HttpMethod.Patch, "/api/projects/port-detect", """{"port":9090}""")).Body!["port"]!);
        }
    }
}

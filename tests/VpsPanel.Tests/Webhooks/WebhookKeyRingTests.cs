using System.Net;
using VpsPanel.Tests.Api;
using VpsPanel.Tests.Harness;
using static VpsPanel.Tests.Webhooks.WebhookMessageTests;

namespace VpsPanel.Tests.Webhooks;

public sealed class WebhookKeyRingTests
{
    /// <summary>
    /// The operator restores the database without its key ring (or a second panel's keys end up in the data dir):
    /// the stored webhook secret cannot be decrypted any more. Deliveries are refused, the delivery log says why,
    /// the API and the page keep working, the page says the secret is unreadable and its Generate button fixes it.
    /// </summary>
    [Fact]
    public async Task With_another_panels_key_ring_deliveries_are_refused_with_the_reason_and_the_page_offers_a_new_secret()
    {
        var panel = await PanelProcess.StartAsync();
        PanelProcess? restarted = null;
        try
        {
            (await PanelSetup.SignedInAdminAsync(panel)).Dispose();
            string token, slug, oldSecret;
            long projectId;
            using (var api = await TestApi.ForUserAsync(panel, PanelSetup.AdminEmail))
            {
                var p = await api.CreateProjectAsync("keyring", "/tmp/vpspanel-missing-keyring.git", "keyring.test");
                (token, slug, oldSecret, projectId) = (api.Token, (string)p["slug"]!, (string)p["webhookSecret"]!, (long)p["id"]!);
            }

            // Another panel's key ring, made the way a panel makes it (on first use).
            var keys = Path.Combine(panel.DataDir, "keys");
            await using (var other = await PanelProcess.StartAsync())
            {
                (await PanelSetup.SignedInAdminAsync(other)).Dispose();
                await other.StopAsync();
                await panel.StopAsync();
                foreach (var f in Directory.GetFiles(keys)) File.Delete(f);
                foreach (var f in Directory.GetFiles(Path.Combine(other.DataDir, "keys"))) File.Copy(f, Path.Combine(keys, Path.GetFileName(f)));
            }
            Assert.NotEmpty(Directory.GetFiles(keys));
            restarted = await PanelProcess.StartAsync(dataDir: panel.DataDir, port: panel.Port);
            // API tokens are hashed, not encrypted: the old one still works.
            using var api2 = new TestApi(restarted, token);

            var body = Payload("gitea-push.json");
            var refused = await WebhookEndpointTests.PostAsync(api2.Http, $"/webhooks/{slug}", body, WebhookEndpointTests.Signed("gitea", body, oldSecret));
            Assert.Equal(HttpStatusCode.Unauthorized, refused.Status);
            // The sender is told what a wrong signature gets (a stranger must not learn which projects exist or are
            // broken); the operator's delivery log has the real reason.
            Assert.Equal("Rejected: signature mismatch. Nothing was deployed.", (string)refused.Body!["detail"]!);
            var logged = (await api2.DeliveriesAsync(slug))[0]!;
            Assert.Equal("rejected", (string)logged["outcome"]!);
            Assert.StartsWith("the stored webhook secret cannot be decrypted (the panel's key ring changed); generate a new secret", (string)logged["reason"]!);
            Assert.Empty(await api2.DeploymentsAsync(slug));
            var detail = await api2.GetAsync($"/api/projects/{slug}");
            Assert.Null(detail["webhookSecret"]);

            // The page: sign in again (the old session cookie was sealed with the lost keys).
            using var web = new PanelClient(restarted);
            Assert.Equal(HttpStatusCode.SeeOther, (await web.LoginAsync(PanelSetup.AdminEmail, PanelSetup.AdminPassword)).Status);
            var page = await web.GetAsync($"/projects/{projectId}");
            Assert.Equal(HttpStatusCode.OK, page.Status);
            Assert.Contains("The stored secret cannot be decrypted", page.Text("#webhook-secret-unreadable"));
            Assert.Null(page.Doc.QuerySelector("#webhook-secret"));
            Assert.Equal("Generate a new secret", page.Text("#new-webhook-secret"));
            Assert.Contains("the stored webhook secret cannot be decrypted", page.Text("#deliveries"));

            var generated = await web.SubmitAsync($"/projects/{projectId}", [], $"/projects/{projectId}?handler=NewWebhookSecret");
            Assert.Equal(HttpStatusCode.SeeOther, generated.Status);
            page = await web.GetAsync($"/projects/{projectId}");
            Assert.Null(page.Doc.QuerySelector("#webhook-secret-unreadable"));
            var secret = page.Doc.QuerySelector("#webhook-secret")!.GetAttribute("value")!;
            Assert.Matches("^[0-9a-f]{64}$", secret);

            var queued = await WebhookEndpointTests.PostAsync(api2.Http, $"/webhooks/{slug}", body, WebhookEndpointTests.Signed("gitea", body, secret));
            Assert.Equal(HttpStatusCode.Accepted, queued.Status);
            Assert.Single(await api2.DeploymentsAsync(slug));
            Assert.False(restarted.HasExited);
            Assert.DoesNotContain("Unhandled exception", restarted.Log, StringComparison.OrdinalIgnoreCase);
        }
        finally
        {
            if (restarted is not null) await restarted.DisposeAsync();
            await panel.DisposeAsync();
        }
    }
}

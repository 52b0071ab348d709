using System.Diagnostics;
using System.Text.Json.Nodes;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Notifications;

/// <summary>
/// Email over SMTP against a real server on loopback (aiosmtpd, tests/…/smtp_server.py): without TLS or auth, with
/// STARTTLS and AUTH, with implicit TLS and AUTH, and with a wrong password (logged, not delivered). The panel
/// trusts the test's self-signed certificate through SSL_CERT_FILE, as an operator would trust a private CA.
/// /usr/bin/python3 by path: Debian's python3-aiosmtpd is installed for Debian's Python, which a pyenv on PATH hides.
/// </summary>
public sealed class EmailNotificationTests
{
    sealed class SmtpServer : IDisposable
    {
        readonly Process _p;
        public int Port { get; } = Paths.FreePort();
        public string Dir { get; } = Paths.NewTempDir("vpspanel-smtp-");

        public SmtpServer(string mode, string cert, string key)
        {
            var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "Notifications", "smtp_server.py"), Port.ToString(), Dir, mode, cert, key }) psi.ArgumentList.Add(a);
            _p = Process.Start(psi)!;
            var line = _p.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();
            if (line != "ready") throw new InvalidOperationException($"the SMTP server did not start: {line} {_p.StandardError.ReadToEnd()}");
        }

        public async Task<string> WaitForMailAsync(TimeSpan timeout)
        {
            var deadline = DateTime.UtcNow + timeout;
            while (DateTime.UtcNow < deadline)
            {
                if (Directory.GetFiles(Dir, "*.eml") is [var one, ..]) return await File.ReadAllTextAsync(one);
                await Task.Delay(200);
            }
            throw new TimeoutException($"no mail arrived on port {Port} within {timeout}");
        }

        public int Count => Directory.GetFiles(Dir, "*.eml").Length;

        public void Dispose()
        {
            try { _p.Kill(); _p.WaitForExit(5000); } catch (InvalidOperationException) { }
            _p.Dispose();
            Paths.DeleteQuietly(Dir);
        }
    }

    [Fact]
    public async Task Mail_arrives_without_tls_with_starttls_and_auth_and_with_implicit_tls()
    {
        var certDir = Paths.NewTempDir("vpspanel-smtpcert-");
        try
        {
            var cert = Path.Combine(certDir, "cert.pem");
            var key = Path.Combine(certDir, "key.pem");
            Cmd.Run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2",
                "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1");
            using var plain = new SmtpServer("plain", cert, key);
            using var starttls = new SmtpServer("starttls", cert, key);
            using var tls = new SmtpServer("tls", cert, key);
            await using var panel = await PanelProcess.StartAsync(new Dictionary<string, string> { ["SSL_CERT_FILE"] = cert, ["Notifications__RetrySeconds"] = "3600" });
            (await PanelSetup.SignedInAdminAsync(panel)).Dispose();
            using var api = await NotifyKit.AdminApiAsync(panel);

            JsonObject Mail(string name, int port, string security, string? password) => new()
            {
                ["type"] = "email", ["name"] = name, ["allowPrivateNetwork"] = true, ["events"] = new JsonArray("deployment.failed", "backup.failed"),
                ["settings"] = password is null
                    ? new JsonObject { ["host"] = "127.0.0.1", ["port"] = port, ["security"] = security, ["from"] = "panel@example.com", ["to"] = "ops@example.com, dev@example.com" }
                    : new JsonObject { ["host"] = "127.0.0.1", ["port"] = port, ["security"] = security, ["from"] = "panel@example.com", ["to"] = "ops@example.com",
                        ["username"] = "mailer", ["password"] = password },
            };
            var ids = new Dictionary<string, long>
            {
                ["plain"] = await NotifyKit.CreateAsync(api, Mail("plain", plain.Port, "none", null)),
                ["starttls"] = await NotifyKit.CreateAsync(api, Mail("starttls", starttls.Port, "starttls", "mail-password-1")),
                ["tls"] = await NotifyKit.CreateAsync(api, Mail("tls", tls.Port, "tls", "mail-password-1")),
            };
            var wrong = await NotifyKit.CreateAsync(api, Mail("wrong", starttls.Port, "starttls", "not-the-password"));
            Assert.DoesNotContain("mail-password-1", await api.GetStringAsync("/api/notification-channels"));
            foreach (var id in ids.Values.Append(wrong)) await NotifyKit.TestAsync(api, id);

            foreach (var (server, name) in new[] { (plain, "plain"), (starttls, "starttls"), (tls, "tls") })
            {
                var mail = await server.WaitForMailAsync(TimeSpan.FromSeconds(60));
                Assert.Contains("Subject: [VpsPanel] Test message", mail);
                Assert.Contains("From: panel@example.com", mail);
                Assert.Contains("ops@example.com", mail);
                Assert.Contains("This channel works.", mail);
                Assert.Contains($"{panel.Url}/notifications/{ids[name]}", mail);
                // The worker writes its delivery log once the SMTP exchange has ended, which is after the receiver has the mail.
                var log = await NotifyKit.DeliveriesAsync(api, ids[name]);
                for (var wait = DateTime.UtcNow.AddSeconds(30); log.Count == 0 && DateTime.UtcNow < wait; log = await NotifyKit.DeliveriesAsync(api, ids[name]))
                    await Task.Delay(200);
                Assert.True((bool)log[0]!["ok"]!, log.ToJsonString());
            }
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while ((await NotifyKit.DeliveriesAsync(api, wrong)).Count == 0 && DateTime.UtcNow < deadline) await Task.Delay(200);
            var refused = (await NotifyKit.DeliveriesAsync(api, wrong)).Single()!;
            Assert.False((bool)refused["ok"]!);
            // The server's refusal is named as such, not as a timeout, with its own words; and no mail went through.
            var detail = (string?)refused["detail"] ?? "";
            Assert.Contains("the SMTP server refused the user name or password", detail);
            Assert.Contains("535", detail);
            Assert.DoesNotContain("timed out", detail);
            Assert.Equal(1, starttls.Count);
        }
        finally { Paths.DeleteQuietly(certDir); }
    }
}

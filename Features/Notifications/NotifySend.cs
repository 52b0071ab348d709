using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace VpsPanel.Features.Notifications;

/// <summary>A queued message ready to go: what happened, to which project, the link to the page that explains it.</summary>
public sealed record Outgoing(long Id, string Event, string Project, long? DeploymentId, string Message, string Url, int Count, bool FollowUp, DateTime At, DateTime WindowAt);

/// <summary>
/// One delivery to one channel, in each service's documented format: Slack incoming webhooks (<c>{"text"}</c> with
/// <c>&lt;url|label&gt;</c> links), Discord webhooks (<c>content</c> + one embed), Telegram's Bot API <c>sendMessage</c>
/// (<c>chat_id</c>, <c>text</c>), ntfy's JSON publish (<c>topic</c>, <c>title</c>, <c>message</c>, <c>click</c>, <c>tags</c>),
/// the generic webhook (signed like GitHub's: HMAC-SHA256 of the raw body) and email over SMTP (MailKit).
/// Returns whether the service took it and what it answered (for the delivery log).
/// </summary>
public static class NotifySend
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);
    const int MaxLoggedAnswer = 300;

    public static string Title(Outgoing m) => m.Event switch
    {
        Notify.DeploymentFailed => "Deployment failed",
        Notify.DeploymentSucceeded => "Deployment live",
        Notify.AppCrashLooping => "App crash looping",
        Notify.AppRestarted => "App restarted",
        Notify.AppUnhealthy => "App unhealthy",
        Notify.DiskLow => "Disk space low",
        Notify.BackupFailed => "Backup failed",
        Notify.WebhookSignatureFailures => "Webhook signature failures",
        Notify.AdminNewSignIn => "Admin sign-in from a new address",
        Notify.PreviewReady => "Preview ready",
        Notify.ServerDown => "Cluster server down",
        _ => "Test message",
    } + (m.Project != "" ? $": {m.Project}" : "");

    /// <summary>The text every format carries: the (latest) message, and how many times it happened when collapsed.</summary>
    public static string Text(Outgoing m, TimeSpan window) =>
        m.FollowUp ? $"{m.Message} (happened {m.Count} more time{(m.Count == 1 ? "" : "s")} within {Minutes(window)} of the first message; this is the latest)"
        : m.Count > 1 ? $"{m.Message} (happened {m.Count} times within {Minutes(window)}; this is the latest)"
        : m.Message;

    static string Minutes(TimeSpan t) => t.TotalMinutes >= 1 && t.TotalMinutes % 1 == 0 ? $"{t.TotalMinutes:0} minutes" : $"{t.TotalSeconds:0} seconds";

    public static async Task<(bool Ok, string Detail)> SendAsync(string type, Dictionary<string, string> s, bool allowPrivate, Outgoing m, TimeSpan window,
        Settings.PanelSettings settings, CancellationToken ct)
    {
        var text = Text(m, window);
        var title = Title(m);
        switch (type)
        {
            case "webhook":
            {
                var body = new JsonObject
                {
                    ["event"] = m.Event, ["project"] = m.Project == "" ? null : m.Project, ["message"] = text, ["url"] = m.Url,
                    ["at"] = m.At.ToString("yyyy-MM-ddTHH:mm:ss.fffZ"),
                };
                if (m.DeploymentId is { } d) body["deployment"] = d;
                var raw = Encoding.UTF8.GetBytes(body.ToJsonString());
                var signature = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(s["secret"]), raw));
                return await PostAsync(s["url"], raw, allowPrivate, ct, h =>
                {
                    h.Add("X-VpsPanel-Signature", signature);
                    h.Add("X-VpsPanel-Delivery", m.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
                    h.Add("X-VpsPanel-Timestamp", DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture));
                });
            }
            case "slack":
                // Slack's mrkdwn: &, < and > are escaped, links are <url|label>.
                return await PostJsonAsync(s["url"], new JsonObject { ["text"] = $"*{SlackEscape(title)}*\n{SlackEscape(text)}\n<{m.Url}|Open in VpsPanel>" }, allowPrivate, ct);
            case "discord":
                return await PostJsonAsync(s["url"], new JsonObject
                {
                    ["username"] = "VpsPanel",
                    ["content"] = Cut($"**{title}**", 2000),
                    ["embeds"] = new JsonArray(new JsonObject { ["title"] = Cut(title, 256), ["description"] = Cut(text, 4096), ["url"] = m.Url }),
                    // Nobody is pinged by a panel message, whatever the text contains.
                    ["allowed_mentions"] = new JsonObject { ["parse"] = new JsonArray() },
                }, allowPrivate, ct);
            case "telegram":
            {
                var (ok, detail) = await PostJsonAsync($"{settings.TelegramApiUrl}/bot{s["token"]}/sendMessage", new JsonObject
                {
                    ["chat_id"] = s["chatId"], ["text"] = Cut($"{title}\n{text}\n{m.Url}", 4096), ["disable_web_page_preview"] = true,
                }, allowPrivate, ct);
                // The token is in the URL: never let it into the delivery log through an error message.
                return (ok, detail.Replace(s["token"], NotifyChannels.Mask, StringComparison.Ordinal));
            }
            case "ntfy":
            {
                var server = s.GetValueOrDefault("server") is { Length: > 0 } sv ? sv.TrimEnd('/') : settings.NtfyUrl;
                var body = new JsonObject
                {
                    ["topic"] = s["topic"], ["title"] = title, ["message"] = text, ["click"] = m.Url,
                    ["tags"] = new JsonArray(m.Event is Notify.DeploymentSucceeded or "test" ? "white_check_mark" : "warning"),
                    ["priority"] = m.Event is Notify.DeploymentSucceeded or "test" ? 3 : 4,
                };
                return await PostAsync(server, Encoding.UTF8.GetBytes(body.ToJsonString()), allowPrivate, ct, h =>
                {
                    if (s.GetValueOrDefault("token") is { Length: > 0 } token) h.Authorization = new AuthenticationHeaderValue("Bearer", token);
                });
            }
            case "email":
                return await MailAsync(s, allowPrivate, title, text, m, ct);
            default:
                return (false, $"unknown channel type {type}");
        }
    }

    static string Cut(string s, int max) => s.Length <= max ? s : s[..(max - 1)] + "…";

    static string SlackEscape(string s) => s.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");

    static Task<(bool, string)> PostJsonAsync(string url, JsonObject body, bool allowPrivate, CancellationToken ct) =>
        PostAsync(url, Encoding.UTF8.GetBytes(body.ToJsonString()), allowPrivate, ct, _ => { });

    static async Task<(bool, string)> PostAsync(string url, byte[] body, bool allowPrivate, CancellationToken ct, Action<HttpRequestHeaders> headers)
    {
        using var http = NotifyAddress.Client(allowPrivate, Timeout);
        using var req = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
        req.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        req.Headers.UserAgent.ParseAdd("VpsPanel-Notifications/1");
        headers(req.Headers);
        using var res = await http.SendAsync(req, ct);
        var answer = await res.Content.ReadAsStringAsync(ct);
        answer = answer.Length > MaxLoggedAnswer ? answer[..MaxLoggedAnswer] + "…" : answer;
        return (res.IsSuccessStatusCode, $"HTTP {(int)res.StatusCode}{(answer.Trim() == "" ? "" : ": " + answer.Trim().ReplaceLineEndings(" "))}");
    }

    static async Task<(bool, string)> MailAsync(Dictionary<string, string> s, bool allowPrivate, string title, string text, Outgoing m, CancellationToken ct)
    {
        var mail = new MimeMessage();
        mail.From.Add(MailboxAddress.Parse(s["from"]));
        foreach (var to in s["to"].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)) mail.To.Add(MailboxAddress.Parse(to));
        mail.Subject = $"[VpsPanel] {title}";
        mail.Body = new TextPart("plain") { Text = $"{text}\n\n{m.Url}\n\n-- \nVpsPanel notification ({m.Event}), {m.At:yyyy-MM-dd HH:mm:ss} UTC\n" };
        var port = int.Parse(s["port"], System.Globalization.CultureInfo.InvariantCulture);
        var security = s["security"] switch { "tls" => SecureSocketOptions.SslOnConnect, "starttls" => SecureSocketOptions.StartTls, _ => SecureSocketOptions.None };
        using var smtp = new SmtpClient { Timeout = (int)Timeout.TotalMilliseconds };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(Timeout);
        var step = "connecting";
        try
        {
            // The socket comes from NotifyAddress, so the SMTP host is judged after DNS like every URL; MailKit is
            // given the host name for TLS (SNI and certificate name).
            var stream = await NotifyAddress.ConnectAsync(s["host"], port, allowPrivate, timeout.Token);
            step = "greeting and TLS";
            await smtp.ConnectAsync(stream, s["host"], port, security, timeout.Token);
            if (s.GetValueOrDefault("username") is { Length: > 0 } user)
            {
                step = "signing in";
                try { await smtp.AuthenticateAsync(user, s.GetValueOrDefault("password") ?? "", timeout.Token); }
                catch (AuthenticationException e)
                {
                    // The server answered, and said no: the channel's credentials are wrong, the network is fine.
                    return (false, $"the SMTP server refused the user name or password ({user}): {e.Message.Trim()}. Check the channel's user name and password");
                }
            }
            step = "sending";
            var answer = await smtp.SendAsync(mail, timeout.Token);
            await smtp.DisconnectAsync(true, timeout.Token);
            return (true, "SMTP: " + answer.Trim());
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new TimeoutException($"the SMTP server {s["host"]}:{port} did not answer within {Timeout.TotalSeconds:0} s while {step}");
        }
    }
}

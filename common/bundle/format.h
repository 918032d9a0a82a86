// airlock-bundle/1: names and fixed strings of the sealed envelope. The
// envelope is an uncompressed POSIX tar with exactly these members, in this
// order (docs/format.md, "Envelope").
#pragma once

#include <array>
#include <string>
#include <string_view>

namespace airlock::bundle {

inline constexpr std::string_view kFormat = "airlock-bundle/1";

inline constexpr std::string_view kPayloadMember = "payload.age";
inline constexpr std::string_view kPayloadSigMember = "payload.age.minisig";
inline constexpr std::string_view kLabelMember = "LABEL.txt";
inline constexpr std::string_view kLabelSigMember = "LABEL.txt.minisig";
inline constexpr std::array<std::string_view, 4> kMembers = {kPayloadMember, kPayloadSigMember, kLabelMember,
                                                             kLabelSigMember};

// Payload layout: the only top-level directories a payload may hold.
inline constexpr std::array<std::string_view, 3> kPayloadRoots = {"env", "wheels", "airlock"};
inline constexpr std::string_view kManifestPath = "airlock/manifest.json";
inline constexpr std::string_view kRequirementsPath = "airlock/requirements.txt";
inline constexpr std::string_view kLockPath = "airlock/requirements.lock";
inline constexpr std::string_view kSbomPath = "airlock/sbom.cdx.json";

// "airlock-bundle/1 bundle-id:<uuid> file:<member>"
std::string trusted_comment(std::string_view bundle_id, std::string_view member);

// A random (version 4) UUID in its lowercase 8-4-4-4-12 form.
std::string new_bundle_id();
bool is_uuid(std::string_view s);

// Current UTC time as RFC 3339 ("2026-11-28T15:19:51Z").
std::string rfc3339_now();

// RFC 3629 UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool valid_utf8(std::string_view s);

}  // namespace airlock::bundle

#!/usr/bin/env bash
# Install the Debian packages the console and report tests need, only those missing:
#   chromium          the real browser the Playwright tests drive (executable_path=/usr/bin/chromium)
#   fonts-noto-cjk    CJK fonts for charts, PDFs (Typst) and LibreOffice
#   libreoffice-writer-nogui  converts generated .docx to PDF in the report tests
#   poppler-utils     pdftoppm / pdftotext / pdffonts to inspect the PDFs
#   npm               installs axe-core for the accessibility browser test (.ci/axe.sh, into a cache folder)
# Works as root (CI) or through sudo. Never downloads a browser build of its own.
set -euo pipefail
PKGS=(chromium fonts-noto-cjk libreoffice-writer-nogui poppler-utils npm)
missing=()
for p in "${PKGS[@]}"; do
  # npm also ships inside NodeSource's nodejs package, which conflicts with Debian's npm: the command is enough
  if [ "$p" = npm ] && command -v npm >/dev/null 2>&1; then continue; fi
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then SUDO=(); else SUDO=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
echo "[packages.sh] installing ${missing[*]}" >&2
"${SUDO[@]}" apt-get update -q >&2
"${SUDO[@]}" apt-get install -y -q "${missing[@]}" >&2

# The Debian package (docs/reference.md §14), built by CPack's DEB generator from the same install rules as
# `cmake --install`, plus the files only a system package has (packaging/deb/root: the conffile
# /etc/taskwheel/config.yaml and the systemd unit) and the maintainer scripts
# (packaging/deb/scripts). Depends is what dpkg-shlibdeps derives from the ELF files actually
# in the package, plus adduser for the postinst. Build it with packaging/build-deb.sh.
set(TW_DEB_DIR ${PROJECT_SOURCE_DIR}/packaging/deb)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME taskwheel)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
# The Maintainer field; set it to whoever ships the package (-DTW_DEB_MAINTAINER=...).
set(TW_DEB_MAINTAINER "taskwheel maintainers <maintainers@taskwheel.example.org>" CACHE STRING
    "Maintainer field of the Debian package")
set(CPACK_PACKAGE_CONTACT "${TW_DEB_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "self-hosted, Spaaza-compatible export job service")
# The extended description; CPack puts the summary above it and indents it.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
  "taskwheel runs asynchronous and scheduled export jobs over a retailer's
loyalty data (users, transactions, vouchers, wallet ledger, products) and
hands each result back through a temporary pre-signed download URL. A client
written against Spaaza's Tasks API works unchanged.

This package holds the server, its six index plugins, the shipped Lua
formatters and segment scripts, the plugin header with its pkg-config file,
and a hardened systemd unit running the server as the taskwheel user.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_INSTALLED_DIRECTORIES ${TW_DEB_DIR}/root /)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${TW_DEB_DIR}/scripts/conffiles ${TW_DEB_DIR}/scripts/postinst ${TW_DEB_DIR}/scripts/prerm
  ${TW_DEB_DIR}/scripts/postrm)
include(CPack)

# Run by cpack (CPACK_PRE_BUILD_SCRIPTS) once the files are staged and
# before the .deb is made: lintian's overrides belong to the package, not
# to a plain `cmake --install`. Directories follow the umask, as cpack's
# own do (scripts/release.sh sets 022).
set(dir "${CPACK_TEMPORARY_INSTALL_DIRECTORY}${CPACK_PACKAGING_INSTALL_PREFIX}/share/lintian/overrides")
file(MAKE_DIRECTORY "${dir}")
file(COPY_FILE "${CPACK_AIRLOCK_LINTIAN_OVERRIDES}" "${dir}/airlock")
file(CHMOD "${dir}/airlock" PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)

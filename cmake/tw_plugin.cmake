# tw_add_plugin(name SOURCES a.c b.c LIBS x y): one index plugin as a MODULE library.
# Plugins never link tw_core: everything they need from the engine comes through struct tw_host.
function(tw_add_plugin name)
  cmake_parse_arguments(P "" "" "SOURCES;LIBS" ${ARGN})
  add_library(${name} MODULE ${P_SOURCES})
  set_target_properties(${name} PROPERTIES PREFIX "" C_VISIBILITY_PRESET hidden
                        LIBRARY_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/plugins)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/include)
  target_link_libraries(${name} PRIVATE ${P_LIBS})
endfunction()

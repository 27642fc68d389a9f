# tw_add_plugin(name [SOURCES a.c b.c] [LIBS x y] [OUTPUT_DIR dir] [TARGET target])
# One index plugin as a MODULE library, <OUTPUT_DIR>/<name>.so. Defaults: SOURCES <name>.c in
# the calling folder, OUTPUT_DIR <build>/plugins (the plugins_dir of a build tree), TARGET
# tw_index_<name>. Plugins never link tw_core: everything they need from the engine comes
# through struct tw_host, and only include/taskwheel/ is on their include path.
function(tw_add_plugin name)
  cmake_parse_arguments(P "" "OUTPUT_DIR;TARGET" "SOURCES;LIBS" ${ARGN})
  if(NOT P_SOURCES)
    set(P_SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/${name}.c)
  endif()
  if(NOT P_OUTPUT_DIR)
    set(P_OUTPUT_DIR ${PROJECT_BINARY_DIR}/plugins)
  endif()
  if(NOT P_TARGET)
    set(P_TARGET tw_index_${name})
  endif()
  add_library(${P_TARGET} MODULE ${P_SOURCES})
  set_target_properties(${P_TARGET} PROPERTIES PREFIX "" OUTPUT_NAME ${name}
                        C_VISIBILITY_PRESET hidden LIBRARY_OUTPUT_DIRECTORY ${P_OUTPUT_DIR})
  target_include_directories(${P_TARGET} PRIVATE ${PROJECT_SOURCE_DIR}/include)
  target_link_libraries(${P_TARGET} PRIVATE ${P_LIBS})
  set_property(GLOBAL APPEND PROPERTY TW_PLUGIN_TARGETS ${P_TARGET})
endfunction()
